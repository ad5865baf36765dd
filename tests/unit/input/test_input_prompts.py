"""Prompt templates: explicit variables, strict errors that name what is wrong."""

from __future__ import annotations

import pytest

from inference_core.domain.errors import InvalidInputError, TemplateError
from inference_core.domain.messages import Message
from inference_core.domain.prompts import ChatPromptTemplate, PromptTemplate


def test_render_substitutes_every_variable() -> None:
    prompt = PromptTemplate(
        'Write $count scenes for ${title}. Reply as {"scenes": [...]}; cost $$5.'
    )
    assert prompt.variables == ("count", "title")
    rendered = prompt.render({"title": "Dune"}, count=3)
    assert rendered == 'Write 3 scenes for Dune. Reply as {"scenes": [...]}; cost $5.'


def test_a_missing_variable_is_an_error_naming_it_never_an_empty_string() -> None:
    prompt = PromptTemplate("Hello $name, you are $age.", name="greeting")
    with pytest.raises(TemplateError) as caught:
        prompt.render(name="Ann")
    assert str(caught.value) == "template 'greeting': missing variable(s): age"
    assert isinstance(caught.value, InvalidInputError)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"x": None}, "variable 'x' is None"),
        ({"x": b"raw"}, "variable 'x' is bytes"),
        ({"x": 1, "y": 2}, "unknown variable(s): y"),
    ],
)
def test_bad_values_are_errors(values: dict[str, object], words: str) -> None:
    with pytest.raises(TemplateError, match=words.replace("(", r"\(").replace(")", r"\)")):
        PromptTemplate("$x").render(values)


def test_unused_variables_can_be_allowed() -> None:
    assert PromptTemplate("$x").render({"x": 1, "y": 2}, allow_unused=True) == "1"


def test_a_variable_given_twice_is_an_error() -> None:
    with pytest.raises(TemplateError, match="given twice: x"):
        PromptTemplate("$x").render({"x": 1}, x=2)


def test_an_invalid_placeholder_fails_at_construction_with_its_position() -> None:
    with pytest.raises(TemplateError, match=r"template 'bad': .*line 2, col 5"):
        PromptTemplate("ok\nnow $5 dollars", name="bad")


def test_templates_are_immutable_values() -> None:
    prompt = PromptTemplate("$a")
    assert prompt == PromptTemplate("$a")
    with pytest.raises(AttributeError):
        prompt.template = "$b"  # type: ignore[misc]


def test_chat_templates_render_messages() -> None:
    chat = ChatPromptTemplate.of(
        ("system", "You write $genre."),
        ("user", "Outline $idea in the style of $genre."),
        name="outline",
    )
    assert chat.variables == ("genre", "idea")
    assert chat.render(genre="noir", idea="a heist") == (
        Message.system("You write noir."),
        Message.user("Outline a heist in the style of noir."),
    )
    with pytest.raises(TemplateError, match=r"outline\[1\]'?: missing variable\(s\): idea"):
        chat.render(genre="noir")
    with pytest.raises(TemplateError, match=r"unknown variable\(s\): mood"):
        chat.render(genre="noir", idea="x", mood="grim")


def test_chat_templates_reject_unknown_roles() -> None:
    with pytest.raises(TemplateError, match="role must be one of"):
        ChatPromptTemplate.of(("narrator", "x"))  # type: ignore[arg-type]
