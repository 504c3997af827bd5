import io
import unittest

from tinyhttp.routing import Router, compile_pattern
from tinyhttp.server import format_response, parse_request


class RoutingTests(unittest.TestCase):
    def setUp(self):
        self.router = Router()

        @self.router.get("/items/{item_id}")
        def show(request, item_id):
            return 200, {}, item_id

        @self.router.post("/items")
        def create(request):
            return 200, {}, "created"

    def test_path_parameter(self):
        handler, params = self.router.resolve("GET", "/items/42")
        self.assertEqual(params, {"item_id": "42"})
        self.assertEqual(handler(None, **params)[2], "42")

    def test_unknown_path_is_404(self):
        handler, params = self.router.resolve("GET", "/nothing")
        self.assertIsNone(handler)
        self.assertEqual(params, {})

    def test_wrong_method_is_405(self):
        handler, params = self.router.resolve("DELETE", "/items/42")
        self.assertIsNone(handler)
        self.assertIsNone(params)

    def test_pattern_escapes_literal_parts(self):
        self.assertIsNone(compile_pattern("/a.b").match("/axb"))

    def test_response_has_length(self):
        raw = format_response(200, {"Content-Type": "text/plain"}, "hi")
        self.assertIn(b"Content-Length: 2\r\n", raw)
        self.assertTrue(raw.endswith(b"\r\n\r\nhi"))

    def test_parse_request_reads_body(self):
        raw = b"POST /items?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        request = parse_request(io.BytesIO(raw))
        self.assertEqual((request.method, request.path, request.body), ("POST", "/items", b"abc"))
        self.assertEqual(request.query, {"x": ["1"]})


if __name__ == "__main__":
    unittest.main()
