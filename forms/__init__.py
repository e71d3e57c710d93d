"""The template engine: load a state template, evaluate its conditions, validate answers."""

from forms.conditions import ConditionError, compile_condition, evaluate
from forms.loader import TemplateError, load_shipped_template, load_template, load_template_data
from forms.messages import Message, blocking
from forms.model import Answers, Condition, Template
from forms.normalize import normalize
from forms.validation import validate

__all__ = [
    "Answers",
    "Condition",
    "ConditionError",
    "Message",
    "Template",
    "TemplateError",
    "blocking",
    "compile_condition",
    "evaluate",
    "load_shipped_template",
    "load_template",
    "load_template_data",
    "normalize",
    "validate",
]
