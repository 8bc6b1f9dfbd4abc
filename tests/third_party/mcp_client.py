"""Drive `wxpub mcp` with the official Python MCP SDK (PyPI `mcp`), unchanged, as an assistant's
client would: start it over stdio, list its tools and resources, check the project, edit an item
and watch its diagnostics change, try what must be refused, then allow `send_preview` in
publish.toml and send a preview to the sandbox. Prints one JSON object of what it saw; the Rust
test (tests/it/mcp.rs) asserts on it.

Usage: python3 mcp_client.py WXPUB_BINARY PROJECT_DIR ITEM_KEY
(the environment, with the sandbox's address and credentials, is passed on to the server)
"""
import asyncio
import hashlib
import json
import os
import sys
import tempfile

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

binary, project, item = sys.argv[1:4]


def tree_digest():
    """A digest of every file of the project an assistant may not change by mistake."""
    digest = hashlib.sha256()
    for top in ["content", "publish.toml"]:
        path = os.path.join(project, top)
        files = [path] if os.path.isfile(path) else sorted(
            os.path.join(d, f) for d, _, names in os.walk(path) for f in names
        )
        for name in files:
            digest.update(name.encode())
            with open(name, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def outcome(result):
    """A tool result as the test reads it: error flag, text, structured value."""
    text = "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
    return {"is_error": bool(result.is_error), "text": text, "value": result.structured_content}


def rules_of(value):
    return sorted({d["rule"] for d in (value or {}).get("diagnostics", [])})


def allow_send_preview():
    """What an operator writes to let the assistant send previews: the gate and the reviewers."""
    path = os.path.join(project, "publish.toml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "\n[publish]\n" in text:
        text = text.replace("\n[publish]\n", '\n[publish]\nreviewers = ["wxpub-editor"]\n', 1)
    else:
        text += '\n[publish]\nreviewers = ["wxpub-editor"]\n'
    text += '\n[mcp]\nallow = ["send_preview"]\n'
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


async def session_calls(session, seen):
    seen["calls"] = 0

    async def call(name, args):
        seen["calls"] += 1
        return await session.call_tool(name, args)

    init = await session.initialize()
    seen["server"] = {"name": init.server_info.name, "instructions": init.instructions or ""}
    tools = (await session.list_tools()).tools
    seen["tools"] = {
        t.name: {
            "schema_type": t.input_schema.get("type"),
            "properties": sorted((t.input_schema.get("properties") or {}).keys()),
            "read_only": bool(t.annotations and t.annotations.read_only_hint),
        }
        for t in tools
    }
    resources = (await session.list_resources()).resources
    seen["resources"] = sorted(str(r.uri) for r in resources)
    guide = await session.read_resource("wxpub://docs/editors-guide.md")
    seen["guide"] = guide.contents[0].text
    rules = await session.read_resource("wxpub://check/rules.json")
    seen["rules_resource"] = json.loads(rules.contents[0].text)

    seen["check_all"] = outcome(await call("check", {}))
    seen["contract_rules"] = outcome(await call("contract_rules", {}))
    seen["list_items"] = outcome(await call("list_items", {"kind": "article"}))
    seen["status"] = outcome(await call("status", {}))
    seen["report"] = outcome(await call("report", {"kind": "summary"}))
    read = outcome(await call("read_item", {"item": item}))
    seen["read_item"] = read
    cover = read["value"]["front_matter"]["cover"]
    markdown = read["value"]["markdown"]

    # Half-width punctuation in a Chinese sentence: a typography warning appears, then is fixed.
    edited = outcome(await call("update_item", {"item": item, "body": markdown + "\n今天开馆,欢迎参观!\n"}))
    seen["update_body"] = dict(edited, rules=rules_of(edited["value"]))
    with open(os.path.join(project, "content", item, "index.md"), encoding="utf-8") as f:
        seen["source_after_body"] = f.read()
    fixed = outcome(await call("fix_typography", {"items": [item]}))
    seen["fix_typography"] = dict(fixed, rules=rules_of(fixed["value"]))
    # A missing cover: an error appears.
    uncovered = outcome(await call("update_item", {"item": item, "front_matter": {"cover": None}}))
    seen["update_cover"] = dict(uncovered, rules=rules_of(uncovered["value"]))
    seen["build_item"] = outcome(await call("build_item", {"item": item}))

    # What must be refused, leaving the project as it was.
    before = tree_digest()
    bad = {
        "unknown_item": ("read_item", {"item": "articles/2026-01-01-no-such-item"}),
        "parent_path": ("update_item", {"item": "../publish.toml", "body": "x"}),
        "absolute_path": ("update_item", {"item": os.path.join(project, "publish.toml"), "body": "x"}),
        "escaping_key": ("update_item", {"item": "articles/../../publish.toml", "body": "x"}),
        "invalid_front_matter": ("update_item", {"item": item, "front_matter": {"titel": "新标题"}}),
        "wrong_value": ("update_item", {"item": item, "front_matter": {"comments": "sometimes"}}),
        "unknown_argument": ("update_item", {"item": item, "bodyy": "x"}),
        "send_preview_off": ("send_preview", {"items": [item]}),
        "reply_comment_off": ("reply_comment", {"comment": 1, "text": "您好"}),
    }
    seen["bad"] = {key: outcome(await call(name, args)) for key, (name, args) in bad.items()}
    seen["bad_left_project_unchanged"] = tree_digest() == before

    # Allowed now, but the check's error (no cover) blocks it; with the cover back, it goes.
    allow_send_preview()
    seen["send_preview_blocked"] = outcome(await call("send_preview", {"items": [item]}))
    restored = outcome(await call("update_item", {"item": item, "front_matter": {"cover": cover}}))
    seen["update_restore"] = dict(restored, rules=rules_of(restored["value"]))
    seen["send_preview"] = outcome(await call("send_preview", {"items": [item]}))


async def main():
    seen = {}
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as errlog:
        # The server gets this process's environment: the sandbox's address and credentials.
        params = StdioServerParameters(command=binary, args=["mcp", "--project", project], env=dict(os.environ))
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session_calls(session, seen)
        errlog.seek(0)
        seen["stderr"] = errlog.read()
    print(json.dumps(seen, ensure_ascii=False))


asyncio.run(main())
