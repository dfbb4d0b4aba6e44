-- wrk script: every request POSTs a 1 MiB (1,048,576-byte) body.
wrk.method = "POST"
wrk.body = string.rep("a", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
