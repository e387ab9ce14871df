"""Features in, fitted, evaluated and registered models out (scikit-learn, MLflow, joblib).

So far: temporal validation (``models.splits``). The model families, calibration,
evaluation, the fairness audit and the MLflow registry arrive with the rest of issue 4.
"""
