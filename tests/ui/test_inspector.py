"""The inspector: a form from the node's config schema whose edits change the document."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from app.ui.fields import ChoiceField, CredentialField, JsonField, NumberField, TextAreaField, field_specs
from app.ui.highlighters import PlaceholderHighlighter, PythonHighlighter
from app.ui.inspector import NodePage, SelectionPage, WorkflowPage
from tests.core.workflows import document, node
from tests.ui.conftest import load


def select(window, node_id: str) -> NodePage:
    window.editor.scene.select([window.doc.node(node_id)])
    QGuiApplication.processEvents()
    page = window.inspector.page
    assert isinstance(page, NodePage) and page.node.id == node_id
    return page


def test_typing_a_template_changes_the_document_and_its_ports_in_one_undo_step(window) -> None:
    doc = load(window)
    page = select(window, "ask")
    editor = page.fields["template"][1]
    assert isinstance(editor, TextAreaField) and isinstance(editor.highlighter, PlaceholderHighlighter)
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    QTest.keyClicks(editor, " in a {{tone}} tone")
    assert doc.node("ask").config["template"] == "Summarize in one line:\n{{text}} in a {{tone}} tone"
    assert [p.name for p in doc.ports(doc.node("ask")).inputs] == ["text", "tone"]
    assert "tone" in page.ports.text()
    stack = window.editor.stack
    assert stack.count() == 1
    stack.undo()
    assert doc.node("ask").config["template"] == "Summarize in one line:\n{{text}}"
    assert editor.toPlainText() == "Summarize in one line:\n{{text}}"  # the form follows undo


def test_a_new_focus_starts_a_new_undo_step(window) -> None:
    load(window)
    page = select(window, "out")
    title = page.title
    QTest.keyClicks(title, "A")
    title._new_session()  # what focusing the field again does
    QTest.keyClicks(title, "B")
    assert window.editor.stack.count() == 2


def test_choices_numbers_and_optional_fields(window) -> None:
    doc = load(window)
    page = select(window, "llm")
    llm = doc.node("llm")
    provider = page.fields["provider"][1]
    assert isinstance(provider, ChoiceField)
    provider.activated.emit(provider.findText("ollama"))
    assert llm.config["provider"] == "ollama"
    temperature = page.fields["temperature"][1]
    assert isinstance(temperature, NumberField)
    assert temperature.box.specialValueText() == "(not set)" and temperature.box.maximum() == 2
    temperature.box.setValue(0.7)
    assert llm.config["temperature"] == 0.7
    temperature.box.setValue(temperature.box.minimum())  # back to "(not set)": the key goes away
    assert "temperature" not in llm.config
    max_tokens = page.fields["max_tokens"][1]
    max_tokens.box.setValue(256)
    assert llm.config["max_tokens"] == 256 and isinstance(llm.config["max_tokens"], int)


def test_live_validation_shows_the_problem_under_the_field(window) -> None:
    doc = load(window)
    page = select(window, "out")
    name = page.fields["name"][1]
    error = page.fields["name"][2]
    name.selectAll()
    QTest.keyClicks(name, "not valid!")
    assert doc.node("out").config["name"] == "not valid!"  # kept: the problem is shown, not hidden
    assert not error.isHidden() and "pattern" in error.text()
    name.selectAll()
    QTest.keyClicks(name, "summary")
    assert error.isHidden()


def test_python_code_gets_a_code_editor_and_ports_follow_main(window) -> None:
    doc = load(window, document([node("py", "tool.python")], []))
    page = select(window, "py")
    code = page.fields["code"][1]
    assert isinstance(code.highlighter, PythonHighlighter)
    assert not code.tabChangesFocus()
    code.setPlainText("def main(question: str, count: int = 3):\n    return question * count\n")
    assert [(p.name, p.type.value) for p in doc.ports(doc.node("py")).inputs] == [
        ("question", "text"),
        ("count", "number"),
    ]
    assert "question" in page.ports.text() and "count" in page.ports.text()
    code.setPlainText("def main(:\n")
    assert not page.fields["code"][2].isHidden()


def test_json_fields_store_only_valid_json(window) -> None:
    doc = load(window, document([node("web", "tool.http")], []))
    page = select(window, "web")
    headers = page.fields["headers"][1]
    assert isinstance(headers, JsonField)
    headers.setPlainText('{"Accept": "text/plain"')
    assert "headers" not in doc.node("web").config or doc.node("web").config["headers"] == {}
    assert "not valid JSON" in page.fields["headers"][2].text()
    headers.setPlainText('{"Accept": "text/plain"}')
    assert doc.node("web").config["headers"] == {"Accept": "text/plain"}
    assert page.fields["headers"][2].isHidden()


def test_title_notes_id_and_cache(window) -> None:
    doc = load(window)
    page = select(window, "llm")
    llm = doc.node("llm")
    page.title.selectAll()
    QTest.keyClicks(page.title, "Summarizer")
    assert llm.title == "Summarizer"
    QTest.keyClicks(page.notes, "Keep it short")
    assert llm.description == "Keep it short"
    page.id_edit.setText("ask")  # taken
    page.id_edit.editingFinished.emit()
    assert llm.id == "llm" and "already used" in page.id_error.text()
    page.id_edit.setText("summarizer")
    page.id_edit.editingFinished.emit()
    assert llm.id == "summarizer" and doc.find_edge("ask", "text", "summarizer", "prompt") is not None
    page.cache.click()
    assert llm.cache is False


def test_credential_picker_offers_names_never_values(window, memory_keyring) -> None:
    memory_keyring.set_password("chainwright", "openai", "sk-secret-value")
    spec = next(
        s for s in field_specs({"properties": {"key": {"type": "string", "ui": "credential", "default": ""}}})
    )
    picker = CredentialField(spec)
    items = [picker.itemText(i) for i in range(picker.count())]
    assert "openai" in items and not any("sk-" in text for text in items)
    seen = []
    picker.edited.connect(lambda value, session: seen.append(value))
    picker.setCurrentText("anthropic")
    assert seen[-1] == "anthropic"


def test_field_specs_read_the_schema() -> None:
    from nodes.model import ChatConfig

    specs = {spec.name: spec for spec in field_specs(ChatConfig.model_json_schema())}
    assert specs["provider"].kind == "choice" and "anthropic" in specs["provider"].choices
    assert specs["temperature"].kind == "number" and specs["temperature"].optional
    assert (specs["temperature"].minimum, specs["temperature"].maximum) == (0, 2)
    assert specs["system"].kind == "multiline"
    assert specs["base_url"].kind == "text" and specs["base_url"].optional


def test_nothing_selected_shows_the_workflow_and_many_show_a_summary(window) -> None:
    doc = load(window)
    window.editor.scene.clearSelection()
    QGuiApplication.processEvents()
    page = window.inspector.page
    assert isinstance(page, WorkflowPage)
    QTest.keyClicks(page.name, "!")
    assert doc.workflow.name == "Summarize a file!"
    window.editor.scene.select([doc.node("doc"), doc.node("ask")])
    QGuiApplication.processEvents()
    assert isinstance(window.inspector.page, SelectionPage)


def test_double_clicking_a_node_focuses_its_title(window) -> None:
    load(window)
    from tests.ui.conftest import body_point

    QTest.mouseDClick(
        window.view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        body_point(window, "llm"),
    )
    QGuiApplication.processEvents()
    assert isinstance(window.inspector.page, NodePage) and window.inspector.page.node.id == "llm"


def test_problems_of_the_node_are_listed_in_the_inspector(window) -> None:
    doc = load(window)
    window.editor.disconnect([doc.edges[1]])
    window.editor.refresh_problems()
    page = select(window, "llm")
    assert page.problems_box.isVisible() or not page.problems_box.isHidden()
    assert "prompt" in page.problems_box.text()


def test_double_click_puts_the_cursor_in_the_title(window) -> None:
    load(window)
    from tests.ui.conftest import body_point

    window.activateWindow()
    QTest.mouseDClick(
        window.view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        body_point(window, "ask"),
    )
    page = window.inspector.page
    assert isinstance(page, NodePage) and page.node.id == "ask"
    assert QGuiApplication.focusObject() is page.title
