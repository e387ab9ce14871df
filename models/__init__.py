"""Features in, fitted, evaluated and registered models out (scikit-learn, MLflow, joblib).

Nothing is built here yet: the model families arrive with issue 4.
"""
