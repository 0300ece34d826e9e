"""Ollama's Modelfile for an exported clone: FROM the GGUF, the model's chat template as a Go
template, SYSTEM the chat's exact training system prompt, its stop tokens, chat's sampling.

The Go template is read off the run's own chat template, never written per model family: rendering
a system, a user and an assistant turn and finding the sentinel contents in the text gives what
opens the conversation (a BOS the template writes), what leads a role's name, what ends its header
and what ends a turn. A template that does not take that shape (no system role, roles not named in
the text) is refused in one line rather than guessed at: a Modelfile whose template differs from
training's by one character makes the clone ramble (wa-finetune's writes `<|end_header_id|}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatlike.errors import ChatlikeError

_SYSTEM, _USER, _ASSISTANT = "CHATLIKE_S", "CHATLIKE_U", "CHATLIKE_A"


@dataclass(frozen=True)
class GoTemplate:
    """A header-style chat template (Llama 3, ChatML) in four strings."""

    opening: str  # before the first turn, as the template writes it ("<|begin_of_text|>", "")
    lead: str  # before a role's name: "<|start_header_id|>", "<|im_start|>"
    header_end: str  # after it: "<|end_header_id|>\n\n", "\n"
    end: str  # after a turn's content: "<|eot_id|>", "<|im_end|>\n"

    @classmethod
    def of(cls, tokenizer: Any) -> GoTemplate:
        def render(messages: list[dict], generation: bool = False) -> str:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)

        def refused(why: str) -> ChatlikeError:
            return ChatlikeError(f"the model's chat template cannot be written as an Ollama template: {why}")

        turns = [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": _USER}]
        try:
            text = render([*turns, {"role": "assistant", "content": _ASSISTANT}])
            prompt = render(turns, generation=True)
        except Exception as exc:  # jinja's raise_exception: no system role, say
            raise refused(f"it does not render a system, user, assistant conversation ({exc})") from None
        if not all(s in text for s in (_SYSTEM, _USER, _ASSISTANT)):
            raise refused("it drops a turn's content")
        before_system, rest = text.split(_SYSTEM, 1)
        between_su, rest = rest.split(_USER, 1)
        between_ua, end = rest.split(_ASSISTANT, 1)
        if not between_ua.startswith(end) or not between_su.startswith(end):
            raise refused("a turn's end is not the same after every role")
        head_a, head_u = between_ua[len(end) :], between_su[len(end) :]
        if head_a.count("assistant") != 1 or head_u.count("user") != 1:
            raise refused("a turn's header does not name its role once")
        lead, header_end = head_a.split("assistant")
        if head_u != f"{lead}user{header_end}" or not before_system.endswith(f"{lead}system{header_end}"):
            raise refused("the roles' headers differ in more than the role's name")
        opening = before_system[: -len(f"{lead}system{header_end}")]
        go = cls(opening, lead, header_end, end)
        if prompt != go.text([("system", _SYSTEM), ("user", _USER)], generation=True):
            raise refused("its generation prompt is not an assistant header")
        return go

    def text(self, turns: list[tuple[str, str]], generation: bool = False) -> str:
        """What the template renders for (role, content) turns: the shape this value claims."""
        body = "".join(f"{self.lead}{role}{self.header_end}{content}{self.end}" for role, content in turns)
        return self.opening + body + (f"{self.lead}assistant{self.header_end}" if generation else "")

    def render(self, runner_adds_bos: bool) -> str:
        """The Go template for Ollama's TEMPLATE: the system prompt, the user and assistant turns,
        then the assistant's header. A BOS the template writes is left to the runner when the GGUF
        says it adds one (twice would be a prompt training never saw)."""
        opening = "" if runner_adds_bos else self.opening
        turn = f"{self.lead}{{{{ .Role }}}}{self.header_end}{{{{ .Content }}}}{self.end}"
        return (
            f"{opening}{{{{ if .System }}}}{self.lead}system{self.header_end}{{{{ .System }}}}{self.end}{{{{ end }}}}"
            f'{{{{ range .Messages }}}}{{{{ if ne .Role "system" }}}}{turn}{{{{ end }}}}{{{{ end }}}}'
            f"{self.lead}assistant{self.header_end}"
        )


def quoted(text: str, key: str) -> str:
    """A Modelfile value in triple quotes (they hold newlines); one line when it cannot be."""
    if '"""' in text:
        raise ChatlikeError(f'the Modelfile\'s {key} holds """, which a Modelfile cannot quote')
    return f'"""{text}"""'


def modelfile(
    gguf_name: str, template: str, system: str, stops: list[str], sampling: dict[str, float | int]
) -> str:
    """The Modelfile's text: FROM the GGUF beside it, TEMPLATE, SYSTEM, one PARAMETER per line."""
    lines = [
        "# Made by chatlike (stages=[export]): ollama create NAME -f THIS_FILE",
        f"FROM ./{gguf_name}",
        f"TEMPLATE {quoted(template, 'TEMPLATE')}",
        f"SYSTEM {quoted(system, 'SYSTEM')}",
    ]
    lines += [f"PARAMETER stop {stop_json(s)}" for s in stops]
    lines += [f"PARAMETER {key} {value}" for key, value in sampling.items()]
    return "\n".join(lines) + "\n"


def stop_json(stop: str) -> str:
    """A stop string in double quotes (Ollama reads it as a JSON-like quoted string)."""
    import json

    return json.dumps(stop, ensure_ascii=False)
