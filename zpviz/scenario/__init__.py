"""Lesson files: load and validate them (load, loads), find the built-in ones, check their claims.

Pure Python and numpy: nothing here may import Qt or the exporters (an import-linter contract).
"""

from ..errors import LessonError, Problem, TooBigError
from .claims import ClaimFailure, check_report, check_step_claims, claims_for
from .fields import FAULT_KINDS, PAGE_STATES
from .library import builtin_lessons, tour_path
from .load import MAX_FILE_BYTES, MAX_PAGE_EVENTS, MAX_STEPS, load, loads
from .model import (
    ADVICES,
    KERNEL_IDS,
    OPS,
    PAGE_OPS,
    PROTS,
    VARIANT_ALIASES,
    VARIANTS,
    Claim,
    PageRange,
    ProcessSpec,
    Program,
    Range,
    Scenario,
    Selector,
    Source,
    Step,
    VmaSpec,
    variant_id,
)
from .selectors import parse_selector, resolve, selector_count, selector_max, span
from .steps import MAX_PROCESSES, MAX_TOTAL_PAGES

__all__ = [
    "ADVICES", "FAULT_KINDS", "MAX_FILE_BYTES", "MAX_PAGE_EVENTS", "MAX_PROCESSES", "MAX_STEPS",
    "MAX_TOTAL_PAGES", "OPS", "PAGE_OPS", "PAGE_STATES", "PROTS", "VARIANTS", "KERNEL_IDS",
    "VARIANT_ALIASES", "variant_id",
    "Claim", "ClaimFailure", "LessonError", "PageRange", "Problem", "ProcessSpec", "Program", "Range", "Scenario",
    "Selector", "Source", "Step", "TooBigError", "VmaSpec",
    "builtin_lessons", "check_report", "check_step_claims", "claims_for", "load", "loads",
    "parse_selector", "resolve", "selector_count", "selector_max", "span", "tour_path",
]
