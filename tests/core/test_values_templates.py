from __future__ import annotations

import pytest

from app.core import templates
from app.core.values import DataType, can_connect, coerce, incompatibility_reason, to_text


def test_connection_rules() -> None:
    for kind in DataType:
        assert can_connect(kind, kind)
        assert can_connect(kind, DataType.ANY) and can_connect(DataType.ANY, kind)
        assert can_connect(kind, DataType.TEXT) and can_connect(kind, DataType.JSON)
    assert not can_connect(DataType.TEXT, DataType.NUMBER)
    assert not can_connect(DataType.LIST, DataType.BOOLEAN)
    assert not can_connect(DataType.JSON, DataType.LIST)
    assert (
        incompatibility_reason(DataType.TEXT, DataType.NUMBER) == "a text output cannot feed a number input"
    )
    assert incompatibility_reason(DataType.TEXT, DataType.TEXT) is None


@pytest.mark.parametrize(
    ("value", "target", "expected"),
    [
        (3, DataType.TEXT, "3"),
        (2.5, DataType.TEXT, "2.5"),
        (True, DataType.TEXT, "true"),
        ({"a": [1, "é"]}, DataType.TEXT, '{"a": [1, "é"]}'),
        (None, DataType.TEXT, ""),
        ("42", DataType.NUMBER, 42),
        ("4.0", DataType.NUMBER, 4.0),
        (" TRUE ", DataType.BOOLEAN, True),
        ((1, 2), DataType.LIST, [1, 2]),
        ((1, 2), DataType.JSON, [1, 2]),
        ("x", DataType.ANY, "x"),
    ],
)
def test_coercion(value: object, target: DataType, expected: object) -> None:
    assert coerce(value, target) == expected


@pytest.mark.parametrize(
    ("value", "target", "message"),
    [
        ("abc", DataType.NUMBER, "expected a number, got the text 'abc'"),
        (True, DataType.NUMBER, "expected number, got boolean"),
        ("yes", DataType.BOOLEAN, "expected boolean, got text"),
        ({"a": 1}, DataType.LIST, "expected list, got json"),
    ],
)
def test_coercion_refusals_say_why(value: object, target: DataType, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        coerce(value, target)


def test_to_text_leaves_strings_alone() -> None:
    assert to_text("{{x}}") == "{{x}}"


def test_placeholders_allow_spaces_and_ignore_non_identifiers() -> None:
    assert templates.placeholders("{{ a }}{{b}}{{a}} {{7*7}} {{x.__class__}} {% raw %} {{ }}") == ["a", "b"]


def test_fill_is_single_pass_plain_replacement() -> None:
    text = templates.fill("{{a}} + {{ b }} = {{7*7}}", {"a": "{{b}}", "b": 2}, to_text)
    assert text == "{{b}} + 2 = {{7*7}}"


def test_fill_reports_a_missing_value() -> None:
    with pytest.raises(KeyError, match="b"):
        templates.fill("{{a}}{{b}}", {"a": 1})


SSTI_PAYLOADS = [
    "{{7*7}}",
    "{{ 7 * 7 }}",
    "{{x.__class__}}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{config.items()}}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% raw %}{{x}}{% endraw %}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{c}}{% endfor %}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "{{{{x}}}}",
    "{{__import__('os').system('echo pwned')}}",
    "{x}",
    "{{x|safe}}",
]


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_template_injection_payloads_stay_literal_text(payload: str) -> None:
    names = templates.placeholders(payload)
    values = {name: f"<{name}>" for name in names}
    result = templates.fill(payload, values, to_text)
    # Only bare {{identifier}} placeholders are replaced; everything else comes out as written.
    assert result == templates.PLACEHOLDER.sub(lambda m: f"<{m.group(1)}>", payload)
    assert "49" not in result
    assert set(names) <= {"x", "c"}


def test_an_unknown_placeholder_is_a_clear_error_not_an_evaluation() -> None:
    with pytest.raises(KeyError, match="x"):
        templates.fill("{% raw %}{{x}}{% endraw %}", {}, to_text)
