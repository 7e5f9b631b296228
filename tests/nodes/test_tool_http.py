from __future__ import annotations

import json

from app.core.sdk import Skip
from tests.nodes.helpers import LoopbackServer, Reply, node_error, node_type, run_node


def test_ports_come_from_url_headers_and_body():
    node = node_type("tool.http").from_config(
        {
            "url": "{{base}}/items/{{id}}",
            "headers": {"Authorization": "Bearer {{token}}"},
            "body": '{"q": "{{id}}"}',
        }
    )
    assert [port.name for port in node.input_ports()] == ["base", "id", "token"]
    assert [port.name for port in node.output_ports()] == ["body", "status", "json"]


def test_get_json_answer(web: LoopbackServer):
    web.routes["/api"] = Reply.json({"temperature": 21.5})
    ran = run_node("tool.http", {"url": web.url("/api")})
    assert ran.outputs == {"body": '{"temperature": 21.5}', "status": 200, "json": {"temperature": 21.5}}


def test_text_answer_has_no_json_output(web: LoopbackServer):
    web.routes["/hello"] = Reply(200, "hello")
    ran = run_node("tool.http", {"url": web.url("/hello")})
    assert ran.outputs["body"] == "hello" and ran.outputs["status"] == 200
    assert ran.outputs["json"] == Skip("the answer is not JSON")


def test_templated_url_headers_and_body(web: LoopbackServer):
    web.routes["/echo/a%2Fb"] = lambda request: Reply.json(
        {"path": request.path, "auth": request.headers.get("authorization"), "type": request.headers["content-type"],
         "body": request.body.decode()}
    )  # fmt: skip
    ran = run_node(
        "tool.http",
        {
            "method": "POST",
            "url": "{{base}}/echo/{{item}}?q={{q}}",
            "headers": {"Authorization": "Bearer {{token}}"},
            "body": '{"text": "{{q}}"}',
        },
        {"base": web.base, "item": "a/b", "q": "fish & chips", "token": "t0k"},
    )
    assert ran.outputs["json"] == {
        "path": "/echo/a%2Fb?q=fish%20%26%20chips",
        "auth": "Bearer t0k",
        "type": "application/json",
        "body": '{"text": "fish & chips"}',
    }


def test_plain_text_body_and_own_content_type(web: LoopbackServer):
    web.routes["/t"] = lambda request: Reply(200, request.headers["content-type"])
    assert run_node("tool.http", {"method": "PUT", "url": web.url("/t"), "body": "just words"}).outputs[
        "body"
    ] == ("text/plain; charset=utf-8")
    ran = run_node(
        "tool.http",
        {
            "method": "PUT",
            "url": web.url("/t"),
            "body": "<x/>",
            "headers": {"content-type": "application/xml"},
        },
    )
    assert ran.outputs["body"] == "application/xml"


def test_http_error_fails_with_status_and_the_start_of_the_body(web: LoopbackServer):
    web.routes["/broken"] = Reply(500, "database is down\n" + "x" * 1000)
    error = node_error("tool.http", {"url": web.url("/broken")})
    host = web.base.removeprefix("http://")
    assert error.message.startswith(f"{host} answered HTTP 500 Internal Server Error: database is down xxxx")
    assert len(error.message) < 400


def test_http_error_can_be_passed_on_as_a_status(web: LoopbackServer):
    ran = run_node("tool.http", {"url": web.url("/nothing-here"), "fail_on_http_error": False})
    assert ran.outputs["status"] == 404 and ran.outputs["body"] == "no such page"


def test_unconnected_placeholder_names_the_port():
    error = node_error("tool.http", {"url": "http://127.0.0.1:9/{{id}}"})
    assert (
        error.message
        == "the placeholder {{id}} has nothing connected to it: connect a value to the input 'id'"
    )
    assert error.port == "id"


def test_header_with_a_line_break_is_refused():
    error = node_error(
        "tool.http", {"url": "http://127.0.0.1:9/", "headers": {"X-Note": "{{n}}"}}, {"n": "a\r\nEvil: 1"}
    )
    assert error.message == (
        "the header 'X-Note' would contain a line break (from a filled-in value); a header value must be one line"
    )


def test_timeout(web: LoopbackServer):
    web.routes["/slow"] = Reply(200, "late", delay=1.0)
    error = node_error("tool.http", {"url": web.url("/slow"), "timeout_seconds": 0.2})
    assert (
        error.message.endswith("within 0.2 s (timeout_seconds)") and error.field == "config.timeout_seconds"
    )


def test_connection_refused_and_bad_address():
    assert node_error("tool.http", {"url": "http://127.0.0.1:9/x"}).message.startswith(
        "could not connect to 127.0.0.1:9"
    )
    assert node_error("tool.http", {"url": "{{u}}"}, {"u": "file:///etc/passwd"}).message == (
        "the address 'file:///etc/passwd' must start with http:// or https://"
    )


def test_redirect_to_the_same_host_keeps_headers(web: LoopbackServer):
    web.routes["/old"] = Reply(302, "", {"Location": "/new"})
    web.routes["/new"] = lambda request: Reply(200, request.headers.get("x-api-key", "none"))
    ran = run_node("tool.http", {"url": web.url("/old"), "headers": {"X-Api-Key": "k1"}})
    assert ran.outputs == {"body": "k1", "status": 200, "json": Skip("the answer is not JSON")}


def test_redirect_to_another_host_drops_credentials():
    with LoopbackServer() as other, LoopbackServer() as first:
        other.routes["/landing"] = lambda request: Reply.json(
            {
                name: request.headers.get(name)
                for name in ("authorization", "x-api-key", "accept", "user-agent")
            }
        )
        # "localhost" vs "127.0.0.1": a different origin even on the same machine
        first.routes["/go"] = Reply(
            307, "", {"Location": other.url("/landing").replace("127.0.0.1", "localhost")}
        )
        ran = run_node(
            "tool.http",
            {
                "url": first.url("/go"),
                "headers": {
                    "Authorization": "Bearer secret",
                    "X-Api-Key": "secret",
                    "Accept": "application/json",
                },
            },
        )
    assert ran.outputs["json"] == {
        "authorization": None,
        "x-api-key": None,
        "accept": "application/json",
        "user-agent": "Chainwright/0.1",
    }
    assert any("not sending the headers Authorization, X-Api-Key" in message for _, message in ran.logs)


def test_post_redirected_with_303_continues_as_get(web: LoopbackServer):
    web.routes["/submit"] = Reply(303, "", {"Location": "/done"})
    web.routes["/done"] = lambda request: Reply(200, f"{request.method} {len(request.body)}")
    ran = run_node("tool.http", {"method": "POST", "url": web.url("/submit"), "body": "data"})
    assert ran.outputs["body"] == "GET 0"


def test_too_many_redirects(web: LoopbackServer):
    web.routes["/loop"] = Reply(302, "", {"Location": "/loop"})
    error = node_error("tool.http", {"url": web.url("/loop")})
    assert error.message == f"{web.base.removeprefix('http://')} redirected more than 10 times; giving up"


def test_large_answer_is_refused(web: LoopbackServer, monkeypatch):
    import nodes.tool

    monkeypatch.setattr(nodes.tool, "MAX_RESPONSE_BYTES", 100)
    web.routes["/big"] = Reply(200, "y" * 500)
    error = node_error("tool.http", {"url": web.url("/big")})
    assert (
        error.message
        == f"{web.base.removeprefix('http://')} sent 500 bytes; answers up to 100 bytes are read"
    )


def test_head_request(web: LoopbackServer):
    web.routes["/h"] = Reply(200, "ignored body")
    ran = run_node("tool.http", {"method": "HEAD", "url": web.url("/h")})
    assert ran.outputs["status"] == 200 and ran.outputs["body"] == ""
    assert json.dumps(ran.outputs["status"]) == "200"
