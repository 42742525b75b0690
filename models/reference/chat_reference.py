"""Reference renderings for rung-models' chat-template tests (models/tests/chat.rs).

Every case is rendered by Hugging Face transformers itself:
`tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=..., **extra)`, on a
tokenizer that carries the template and the model's special tokens, so the output includes what
transformers adds around Jinja (the special tokens as variables, `tools=None`, `documents=None`, its
`tojson`, `raise_exception`, trim_blocks and lstrip_blocks). The Rust tests render the same cases
with `rung_models::chat::ChatTemplate` and assert exact string equality.

The templates (models/tests/fixtures/chat/):

* qwen2.5-instruct.jinja: the `chat_template` of Qwen/Qwen2.5-*-Instruct's tokenizer_config.json
  (ChatML, default system prompt "You are Qwen, created by Alibaba Cloud. You are a helpful
  assistant.", the `tools` section). Written by hand from the public template (no hub access here).
* llama-3.1-instruct.jinja: meta-llama/Llama-3.1-8B-Instruct's template (`date_string` defaulting
  to "26 Jul 2024", "Cutting Knowledge Date", tools in the first user message). Written by hand.
* llama-3-instruct.jinja: meta-llama/Meta-Llama-3-8B-Instruct's (Llama 3.0) template. By hand.
* smollm2-135m-instruct.jinja: written by this script from the `tokenizer.chat_template` metadata
  of SmolLM2-135M-Instruct's GGUF (scripts/fetch-smollm2.sh fetches it; RUNG_SMOLLM2_GGUF
  overrides), with the special tokens the GGUF names by id.
* jinja-features.jinja: ours, not a model's: the Jinja constructs where minijinja and Jinja2 could
  disagree (tojson and its arguments, `trim` and `.strip()` on Python whitespace, floats, lists
  and dicts printed as Python's `str` prints them, `is iterable` on strings, loop controls,
  `{% generation %}`, ...).
* reject-role.jinja and syntax-error.jinja: the error cases (`raise_exception`, a syntax error).

It also writes tokenizer_config.json fixtures under configs/ (a template as a string with special
tokens as AddedToken objects, a list of named templates, a model-specific `*_token`, a
chat_template.jinja file beside the config, no template at all) and records what transformers'
`from_pretrained` makes of each.

The tool schemas in the fixtures have their keys sorted at every level: serde_json (without its
`preserve_order` feature) sorts object keys, so the Rust side cannot see the insertion order that
Python keeps. The tests check the rendering, not that order.

Run from anywhere (models/reference/setup.sh installs the venv):

    target/models-venv/bin/python models/reference/chat_reference.py

It rewrites smollm2-135m-instruct.jinja, expected.json and configs/ under
models/tests/fixtures/chat/ and is deterministic: a second run leaves every file byte-identical.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import gguf  # noqa: E402
import jinja2  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "models" / "tests" / "fixtures" / "chat"

QWEN_TOKENS = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
LLAMA_TOKENS = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}

# A tool schema, keys sorted at every level (see the module docstring).
WEATHER_TOOL = {
    "function": {
        "description": "Get the current weather in a city.",
        "name": "get_weather",
        "parameters": {
            "properties": {
                "city": {"description": "The city, e.g. Paris.", "type": "string"},
                "unit": {"enum": ["celsius", "fahrenheit"], "type": "string"},
            },
            "required": ["city"],
            "type": "object",
        },
    },
    "type": "function",
}


def msg(role, content):
    return {"role": role, "content": content}


TRICKY = [
    msg("system", "  Answer briefly.\nUse  two  spaces.  "),
    msg("user", "  Leading and trailing spaces  \n\nline two\n\tindented line\n"),
    msg("assistant", "Grüße! 日本語, emoji 🦀, Ελληνικά, عربى, \"quotes\" and 'apostrophes' <b>&amp;</b>"),
    msg("user", "Jinja-looking text: {{ x }} {% if true %}yes{% endif %} {# not a comment #} {{- y -}}"),
]

CONVERSATIONS = {
    "user_only": [msg("user", "What is the capital of France?")],
    "system_user": [msg("system", "You are a terse assistant."), msg("user", "Name a prime number.")],
    "multi_turn": [
        msg("user", "Hi!"),
        msg("assistant", "Hello! How can I help?"),
        msg("user", "Tell me a joke."),
    ],
    "system_multi_turn": [
        msg("system", "You are a pirate."),
        msg("user", "Where is the treasure?"),
        msg("assistant", "Arr, buried on the island."),
        msg("user", "Which island?"),
    ],
    "assistant_last": [msg("user", "2 + 2?"), msg("assistant", "4")],
    "tricky_content": TRICKY,
    "whitespace_only": [msg("user", ""), msg("assistant", "   "), msg("user", "\x1c\x1f padded \x1e\u3000")],
}

TOOL_TURN = [
    msg("user", "What's the weather in Paris?"),
    msg("tool", '{"temperature": 21, "unit": "celsius"}'),
    msg("tool", "Sunny, with a light breeze."),
    msg("assistant", "It is 21 °C and sunny in Paris."),
]


def conversation_cases(names):
    """Every named conversation, with and without the generation prompt."""
    return [
        {"name": f"{name}/{'prompt' if prompt else 'no_prompt'}", "messages": CONVERSATIONS[name],
         "add_generation_prompt": prompt, "extra": {}}
        for name in names
        for prompt in (False, True)
    ]


def case(name, messages, add_generation_prompt, **extra):
    return {"name": name, "messages": messages, "add_generation_prompt": add_generation_prompt, "extra": extra}


ALL = list(CONVERSATIONS)


def template_specs(smollm2_tokens):
    return [
        {
            "name": "qwen2.5-instruct",
            "file": "qwen2.5-instruct.jinja",
            "special_tokens": QWEN_TOKENS,
            "cases": conversation_cases(ALL) + [
                case("tools/user_only", CONVERSATIONS["user_only"], True, tools=[WEATHER_TOOL]),
                case("tools/system_user", CONVERSATIONS["system_user"], True, tools=[WEATHER_TOOL]),
                case("tool_messages", TOOL_TURN, True),
                case("tools_none_explicit", CONVERSATIONS["multi_turn"], True, tools=None),
            ],
        },
        {
            "name": "llama-3.1-instruct",
            "file": "llama-3.1-instruct.jinja",
            "special_tokens": LLAMA_TOKENS,
            "cases": conversation_cases(ALL) + [
                case("date_string", CONVERSATIONS["system_user"], True, date_string="05 Mar 2025"),
                case("tools/in_user_message", CONVERSATIONS["system_multi_turn"], True, tools=[WEATHER_TOOL]),
                case("tools/in_system_message", CONVERSATIONS["system_user"], True, tools=[WEATHER_TOOL],
                     tools_in_user_message=False),
                case("builtin_tools", CONVERSATIONS["user_only"], True, builtin_tools=["brave_search", "wolfram_alpha"]),
                case("tool_messages", TOOL_TURN, False),
            ],
        },
        {
            "name": "llama-3-instruct",
            "file": "llama-3-instruct.jinja",
            "special_tokens": LLAMA_TOKENS,
            "cases": conversation_cases(ALL),
        },
        {
            "name": "smollm2-135m-instruct",
            "file": "smollm2-135m-instruct.jinja",
            "special_tokens": smollm2_tokens,
            "cases": conversation_cases(ALL),
        },
        {
            "name": "jinja-features",
            "file": "jinja-features.jinja",
            "special_tokens": LLAMA_TOKENS,
            "cases": conversation_cases(["tricky_content", "whitespace_only", "multi_turn", "system_user"]) + [
                case("tools", CONVERSATIONS["user_only"], True, tools=[WEATHER_TOOL], flag=True, count=3),
            ],
        },
    ]


ERROR_SPECS = [
    # (template file, special tokens, case, what transformers raised)
    ("reject-role.jinja", QWEN_TOKENS, case("tool_role", TOOL_TURN, True)),
    ("llama-3.1-instruct.jinja", LLAMA_TOKENS,
     case("tools_without_user_message", [msg("system", "Use tools.")], True, tools=[WEATHER_TOOL])),
]


def smollm2_gguf():
    path = os.environ.get("RUNG_SMOLLM2_GGUF")
    if path:
        return Path(path)
    script = ROOT / "scripts" / "fetch-smollm2.sh"
    out = subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def read_smollm2():
    """SmolLM2's chat template and its special tokens (by the ids the GGUF names)."""
    reader = gguf.GGUFReader(str(smollm2_gguf()))
    fields = reader.fields
    template = fields["tokenizer.chat_template"].contents()
    tokens = fields["tokenizer.ggml.tokens"].contents()
    special = {}
    for name, key in [("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"),
                      ("unk_token", "unknown_token_id"), ("pad_token", "padding_token_id")]:
        field = fields.get(f"tokenizer.ggml.{key}")
        if field is not None:
            special[name] = tokens[int(field.contents())]
    return template, special


def backend():
    tokenizer = Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer


def tokenizer_with(template, special_tokens):
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend(), chat_template=template, **special_tokens)
    assert tokenizer.special_tokens_map == special_tokens, (tokenizer.special_tokens_map, special_tokens)
    return tokenizer


def render(tokenizer, c):
    return tokenizer.apply_chat_template(
        c["messages"], tokenize=False, add_generation_prompt=c["add_generation_prompt"], **c["extra"]
    )


def render_templates(specs):
    out = []
    for spec in specs:
        template = (FIXTURES / spec["file"]).read_text(encoding="utf-8")
        tokenizer = tokenizer_with(template, spec["special_tokens"])
        cases = [{**c, "output": render(tokenizer, c)} for c in spec["cases"]]
        out.append({**spec, "cases": cases})
    return out


def render_errors():
    out = []
    for file, special_tokens, c in ERROR_SPECS:
        tokenizer = tokenizer_with((FIXTURES / file).read_text(encoding="utf-8"), special_tokens)
        try:
            render(tokenizer, c)
        except jinja2.TemplateError as error:
            out.append({"file": file, "special_tokens": special_tokens, **c, "error": error.message})
        else:
            sys.exit(f"{file}: {c['name']} rendered without an error")
    return out


def syntax_error():
    source = (FIXTURES / "syntax-error.jinja").read_text(encoding="utf-8")
    try:
        tokenizer_with(source, QWEN_TOKENS).apply_chat_template([msg("user", "hi")], tokenize=False)
    except jinja2.TemplateSyntaxError as error:
        return {"file": "syntax-error.jinja", "line": error.lineno, "message": error.message}
    sys.exit("syntax-error.jinja compiled")


def added_token(content):
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": False,
            "rstrip": False, "single_word": False, "special": True}


def config_specs(templates):
    """tokenizer_config.json fixtures: (directory, config, extra files, cases)."""
    base = {"model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": True}
    chats = conversation_cases(["system_multi_turn"])
    return [
        ("llama-3.1-added-tokens", {**base, "bos_token": added_token("<|begin_of_text|>"),
                                    "eos_token": added_token("<|eot_id|>"), "pad_token": None,
                                    "chat_template": templates["llama-3.1-instruct"]}, {}, chats),
        ("named-templates", {**base, "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                             "unk_token": None,
                             "chat_template": [{"name": "tool_use", "template": "TOOLS {{ messages | length }}"},
                                               {"name": "default", "template": templates["qwen2.5-instruct"]}]},
         {}, chats),
        ("model-specific-token", {**base, "bos_token": "<s>", "eos_token": added_token("</s>"),
                                  "image_token": "<|image_pad|>",
                                  "chat_template": "{{ bos_token }}{% for m in messages %}{{ image_token }}"
                                                   "{{ m.role }}: {{ m.content }}{{ eos_token }}\n{% endfor %}"},
         {}, chats),
        ("template-file", {**base, "eos_token": "<|im_end|>", "chat_template": "IGNORED {{ messages }}"},
         {"chat_template.jinja": templates["smollm2-135m-instruct"]}, chats),
        ("no-template", {**base, "bos_token": "<s>", "eos_token": "</s>"}, {}, []),
    ]


def write_configs(templates):
    configs_dir = FIXTURES / "configs"
    shutil.rmtree(configs_dir, ignore_errors=True)
    out = []
    for name, config, files, cases in config_specs(templates):
        directory = configs_dir / name
        directory.mkdir(parents=True)
        write_text(directory / "tokenizer_config.json", json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        for file, text in files.items():
            write_text(directory / file, text)
        with tempfile.TemporaryDirectory() as tmp:
            for file in directory.iterdir():
                shutil.copy(file, tmp)
            backend().save(str(Path(tmp) / "tokenizer.json"))
            tokenizer = PreTrainedTokenizerFast.from_pretrained(tmp)
            entry = {"dir": f"configs/{name}", "special_tokens": tokenizer.special_tokens_map}
            if not cases:
                try:
                    tokenizer.get_chat_template()
                except ValueError as error:
                    entry["error"] = str(error)
                else:
                    sys.exit(f"{name}: transformers found a chat template")
            entry["cases"] = [{**c, "output": render(tokenizer, c)} for c in cases]
        out.append(entry)
    return out


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(text)


def main():
    smollm2_template, smollm2_tokens = read_smollm2()
    write_text(FIXTURES / "smollm2-135m-instruct.jinja", smollm2_template)
    specs = template_specs(smollm2_tokens)
    templates = {s["name"]: (FIXTURES / s["file"]).read_text(encoding="utf-8") for s in specs}
    expected = {
        "about": (
            "Generated by models/reference/chat_reference.py with transformers "
            f"{transformers.__version__} and jinja2 {jinja2.__version__}; do not edit by hand."
        ),
        "templates": render_templates(specs),
        "errors": render_errors(),
        "syntax_error": syntax_error(),
        "configs": write_configs(templates),
    }
    write_text(FIXTURES / "expected.json", json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {FIXTURES.relative_to(ROOT)}/expected.json and configs/")


if __name__ == "__main__":
    main()
