"""A 20 KB HTML page (a product list, as a template would render it), for the
[compression] cost measurement (bench/compression_cost.py)."""

ROWS = "".join(
    f'<tr class="row"><td class="id">{i}</td><td class="name">Product number {i}</td>'
    f'<td class="price">{i * 7 % 100}.{i % 100:02d} EUR</td><td><a href="/p/{i}">details</a></td></tr>\n'
    for i in range(150))
PAGE = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Products</title>"
        "<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body><main><h1>Products</h1>\n"
        f"<table>\n{ROWS}</table></main></body></html>\n").encode()
PAGE = PAGE[:20 * 1024] if len(PAGE) >= 20 * 1024 else PAGE + b" " * (20 * 1024 - len(PAGE))
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [PAGE]
