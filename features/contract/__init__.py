"""The case-history data contract (version 1), enforced: one loader for everything downstream."""

from features.contract.load import (
    CaseHistories,
    ContractError,
    check_tables,
    load_case_histories,
    validate_folder,
)
from features.contract.report import RuleResult, Sample, Summary, ValidationReport

__all__ = [
    "CaseHistories",
    "ContractError",
    "RuleResult",
    "Sample",
    "Summary",
    "ValidationReport",
    "check_tables",
    "load_case_histories",
    "validate_folder",
]
