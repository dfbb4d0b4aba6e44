/* hearth_worker._speedups: optional C versions of the worker runtime's per-request pure
 * functions (docs/worker-protocol.md "The C accelerator"). Each one returns exactly what its
 * pure-Python twin returns and raises the same exception types; an input outside the
 * common case (a non-str value, a missing variable) is handed to the Python twin itself.
 *
 *   decode_environ(buf, start, length, base=None) -> dict    (protocol.decode_environ)
 *   build_scope(env, state=None) -> dict                     (asgi.build_scope)
 *   scope_setup(asgi_version, python_build_scope)            (asgi.py, once at import)
 *
 * Only the documented C API of CPython 3.11; no state besides a bounded key cache and the
 * objects scope_setup() hands over. Every function runs with the GIL held throughout. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* ---- environ keys: the same ~16 names arrive with every request ----------------------
 * A direct-mapped cache of key strings (their hash computed once), by the key's bytes.
 * Only lookups' speed depends on it: an equal str is returned either way. */
#define KEY_CACHE_SIZE 512
#define KEY_CACHE_MAXLEN 64
static PyObject *key_cache[KEY_CACHE_SIZE];

static PyObject *key_str(const char *p, Py_ssize_t n) {
  if (n == 0 || n > KEY_CACHE_MAXLEN) return PyUnicode_DecodeLatin1(p, n, NULL);
  size_t h = 2166136261u;
  for (Py_ssize_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
  h = (h ^ (h >> 15)) % KEY_CACHE_SIZE;
  PyObject *s = key_cache[h];
  if (s != NULL && PyUnicode_GET_LENGTH(s) == n && memcmp(PyUnicode_1BYTE_DATA(s), p, (size_t)n) == 0) {
    Py_INCREF(s);
    return s;
  }
  s = PyUnicode_DecodeLatin1(p, n, NULL);
  if (s == NULL) return NULL;
  if (PyObject_Hash(s) == -1) {
    Py_DECREF(s);
    return NULL;
  }
  Py_INCREF(s);
  Py_XSETREF(key_cache[h], s);
  return s;
}

/* An int argument as Py_ssize_t, clamped as a slice index is: TypeError for a non-integer,
 * ValueError when negative (protocol.decode_environ checks the same way). */
static int ssize_arg(PyObject *o, Py_ssize_t *out, const char *what) {
  PyObject *i = PyNumber_Index(o);
  if (i == NULL) return -1;
  Py_ssize_t v = PyNumber_AsSsize_t(i, NULL);
  Py_DECREF(i);
  if (v < 0) {
    PyErr_SetString(PyExc_ValueError, "start and length must be >= 0");
    return -1;
  }
  *out = v;
  return 0;
}

static PyObject *decode_environ(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"buf", "start", "length", "base", NULL};
  PyObject *buf, *start_o, *length_o, *base = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|O:decode_environ", kwlist, &buf, &start_o, &length_o, &base))
    return NULL;
  if (base != Py_None && !PyDict_CheckExact(base)) {
    PyErr_SetString(PyExc_TypeError, "base must be a dict or None");
    return NULL;
  }
  /* The checks in protocol.decode_environ's order: base, start, length, then buf. */
  Py_ssize_t start, length;
  if (ssize_arg(start_o, &start, "start") < 0 || ssize_arg(length_o, &length, "length") < 0) return NULL;
  Py_buffer view;
  if (PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE) < 0) return NULL;
  PyObject *env = NULL;
  /* Slice semantics: start and end clamped to the buffer. */
  if (start > view.len) start = view.len;
  if (length > view.len - start) length = view.len - start;
  env = base == Py_None ? PyDict_New() : PyDict_Copy(base);
  if (env == NULL) goto done;
  const char *p = (const char *)view.buf + start;
  const char *end = p + length;
  /* key\0value\0key\0value...: pairs up to the last complete one (a trailing key without
   * its value is dropped, as zip() does). */
  for (;;) {
    const char *k_end = memchr(p, '\0', (size_t)(end - p));
    if (k_end == NULL) break;
    const char *v = k_end + 1;
    const char *v_end = memchr(v, '\0', (size_t)(end - v));
    if (v_end == NULL) v_end = end;
    PyObject *key = key_str(p, k_end - p);
    if (key == NULL) goto fail;
    PyObject *val = PyUnicode_DecodeLatin1(v, v_end - v, NULL);
    if (val == NULL) {
      Py_DECREF(key);
      goto fail;
    }
    int rc = PyDict_SetItem(env, key, val);
    Py_DECREF(key);
    Py_DECREF(val);
    if (rc < 0) goto fail;
    if (v_end == end) break;
    p = v_end + 1;
  }
  goto done;
fail:
  Py_CLEAR(env);
done:
  PyBuffer_Release(&view);
  return env;
}

/* ---- build_scope ------------------------------------------------------------------------ */

static PyObject *asgi_version;      /* asgi.ASGI_VERSION: every scope shares it */
static PyObject *py_build_scope;    /* asgi._build_scope_py: the uncommon inputs */
static PyObject *header_names;      /* environ key -> header name bytes, or b"" */
#define HEADER_NAMES_MAX 1024

/* interned constants */
static PyObject *s_type, *s_http, *s_asgi, *s_http_version, *s_method, *s_scheme, *s_path, *s_raw_path,
    *s_query_string, *s_root_path, *s_headers, *s_client, *s_server, *s_extensions, *s_state,
    *s_v11, *s_v10, *s_v2, *s_slash, *s_empty, *s_copy, *s_lower, *s_replace, *s_underscore, *s_dash,
    *b_content_type, *b_content_length, *b_empty;
static PyObject *k_fields[9];
static PyObject *k_content_type, *k_content_length, *k_request_uri, *k_remote_addr, *k_remote_port;
static const char *field_names[9] = {"REQUEST_METHOD", "wsgi.url_scheme", "SERVER_PROTOCOL", "SCRIPT_NAME",
                                     "PATH_INFO", "QUERY_STRING", "RAW_URI", "SERVER_NAME", "SERVER_PORT"};

static int one_byte(PyObject *o) {
  return PyUnicode_CheckExact(o) && PyUnicode_KIND(o) == PyUnicode_1BYTE_KIND;
}

static PyObject *latin1_bytes(PyObject *s) {
  return PyBytes_FromStringAndSize((const char *)PyUnicode_1BYTE_DATA(s), PyUnicode_GET_LENGTH(s));
}

/* asgi._header_name(): HTTP_X_FOO -> b"x-foo", anything else b"" (cached, bounded). */
static PyObject *header_name(PyObject *key) {
  PyObject *name = PyDict_GetItemWithError(header_names, key);
  if (name != NULL) {
    Py_INCREF(name);
    return name;
  }
  if (PyErr_Occurred()) return NULL;
  Py_ssize_t n = PyUnicode_GET_LENGTH(key);
  const Py_UCS1 *d = PyUnicode_1BYTE_DATA(key);
  if (n >= 5 && memcmp(d, "HTTP_", 5) == 0) {
    /* key[5:].lower().replace("_", "-").encode("latin-1"), with str's own methods */
    PyObject *tail = PyUnicode_Substring(key, 5, n);
    if (tail == NULL) return NULL;
    PyObject *low = PyObject_CallMethodNoArgs(tail, s_lower);
    Py_DECREF(tail);
    if (low == NULL) return NULL;
    PyObject *dashed = PyObject_CallMethodObjArgs(low, s_replace, s_underscore, s_dash, NULL);
    Py_DECREF(low);
    if (dashed == NULL) return NULL;
    name = PyUnicode_AsEncodedString(dashed, "latin-1", NULL);
    Py_DECREF(dashed);
    if (name == NULL) return NULL;
  } else {
    name = b_empty;
    Py_INCREF(name);
  }
  if (PyDict_GET_SIZE(header_names) >= HEADER_NAMES_MAX) PyDict_Clear(header_names);
  if (PyDict_SetItem(header_names, key, name) < 0) {
    Py_DECREF(name);
    return NULL;
  }
  return name;
}

/* asgi._decoded(): a percent-decoded path sent as latin-1 -> its bytes as UTF-8. */
static PyObject *decoded(PyObject *s) {
  Py_ssize_t n = PyUnicode_GET_LENGTH(s);
  const char *d = (const char *)PyUnicode_1BYTE_DATA(s);
  Py_ssize_t i = 0;
  while (i < n && !((unsigned char)d[i] & 0x80)) i++;
  if (i == n) {
    Py_INCREF(s);
    return s;
  }
  PyObject *out = PyUnicode_DecodeUTF8(d, n, NULL);
  if (out == NULL) {
    if (!PyErr_ExceptionMatches(PyExc_UnicodeError)) return NULL;
    PyErr_Clear();
    out = PyUnicode_DecodeUTF8(d, n, "replace");
  }
  return out;
}

/* asgi._port(): int(text), or ``dflt`` on TypeError/ValueError. Borrowed dflt. */
static PyObject *port(PyObject *text, PyObject *dflt) {
  if (text != NULL) {
    PyObject *v = PyLong_FromUnicodeObject(text, 10);
    if (v != NULL) return v;
    if (!PyErr_ExceptionMatches(PyExc_ValueError) && !PyErr_ExceptionMatches(PyExc_TypeError)) return NULL;
    PyErr_Clear();
  }
  Py_INCREF(dflt);
  return dflt;
}

static PyObject *fallback(PyObject *env, PyObject *state) {
  if (py_build_scope == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "_speedups.scope_setup() was not called");
    return NULL;
  }
  return PyObject_CallFunctionObjArgs(py_build_scope, env, state, NULL);
}

static int put(PyObject *d, PyObject *k, PyObject *v) {
  /* steals v */
  if (v == NULL) return -1;
  int rc = PyDict_SetItem(d, k, v);
  Py_DECREF(v);
  return rc;
}

static PyObject *build_scope(PyObject *self, PyObject *args, PyObject *kwargs) {
  static char *kwlist[] = {"env", "state", NULL};
  PyObject *env, *state = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:build_scope", kwlist, &env, &state)) return NULL;
  if (asgi_version == NULL || !PyDict_CheckExact(env)) return fallback(env, state);
  /* The common case only: every key and value a latin-1 str (what decode_environ makes) and
   * all of _FIELDS present; anything else goes to the Python function. */
  PyObject *f[9];
  for (int i = 0; i < 9; i++) {
    f[i] = PyDict_GetItemWithError(env, k_fields[i]);
    if (f[i] == NULL) {
      if (PyErr_Occurred()) return NULL;
      return fallback(env, state);
    }
  }
  Py_ssize_t pos = 0;
  PyObject *key, *value;
  while (PyDict_Next(env, &pos, &key, &value)) {
    if (!one_byte(key) || !one_byte(value)) return fallback(env, state);
  }
  PyObject *headers = PyList_New(0);
  PyObject *scope = NULL, *path = NULL, *root_path = NULL;
  if (headers == NULL) return NULL;
  pos = 0;
  while (PyDict_Next(env, &pos, &key, &value)) {
    Py_INCREF(value);  /* held across header_name(), which may allocate */
    PyObject *name = header_name(key);
    if (name == NULL) {
      Py_DECREF(value);
      goto fail;
    }
    if (PyBytes_GET_SIZE(name) == 0) {
      Py_DECREF(name);
      Py_DECREF(value);
      continue;
    }
    PyObject *v = latin1_bytes(value);
    Py_DECREF(value);
    PyObject *item = v == NULL ? NULL : PyTuple_Pack(2, name, v);
    Py_DECREF(name);
    Py_XDECREF(v);
    if (item == NULL) goto fail;
    int rc = PyList_Append(headers, item);
    Py_DECREF(item);
    if (rc < 0) goto fail;
  }
  PyObject *extra_keys[2] = {k_content_type, k_content_length};
  PyObject *extra_names[2] = {b_content_type, b_content_length};
  for (int i = 0; i < 2; i++) {
    PyObject *v = PyDict_GetItemWithError(env, extra_keys[i]);
    if (v == NULL) {
      if (PyErr_Occurred()) goto fail;
      continue;
    }
    if (PyUnicode_GET_LENGTH(v) == 0) continue;
    PyObject *b = latin1_bytes(v);
    PyObject *item = b == NULL ? NULL : PyTuple_Pack(2, extra_names[i], b);
    Py_XDECREF(b);
    if (item == NULL) goto fail;
    int rc = PyList_Append(headers, item);
    Py_DECREF(item);
    if (rc < 0) goto fail;
  }
  PyObject *method = f[0], *scheme = f[1], *protocol = f[2], *path_info = f[4], *query = f[5],
           *raw_uri = f[6], *sname = f[7], *sport = f[8];
  PyObject *root_in = f[3];
  if (PyUnicode_GET_LENGTH(raw_uri) == 0) {
    raw_uri = PyDict_GetItemWithError(env, k_request_uri);
    if (raw_uri == NULL) {
      if (PyErr_Occurred()) goto fail;
      raw_uri = s_empty;
    }
  }
  Py_ssize_t uri_len = PyUnicode_GET_LENGTH(raw_uri);
  const char *uri = (const char *)PyUnicode_1BYTE_DATA(raw_uri);
  const char *q = memchr(uri, '?', (size_t)uri_len);
  Py_ssize_t raw_path_len = q == NULL ? uri_len : q - uri;
  if (PyUnicode_GET_LENGTH(root_in)) {
    root_path = decoded(root_in);
    if (root_path == NULL) goto fail;
    PyObject *tail = decoded(path_info);
    if (tail == NULL) goto fail;
    path = PyUnicode_Concat(root_path, tail);
    Py_DECREF(tail);
    if (path == NULL) goto fail;
  } else {
    root_path = root_in;
    Py_INCREF(root_path);
    path = decoded(path_info);
    if (path == NULL) goto fail;
  }
  if (PyUnicode_GET_LENGTH(path) == 0) {
    Py_DECREF(path);
    path = s_slash;
    Py_INCREF(path);
  }
  PyObject *version = s_v11;
  Py_ssize_t plen = PyUnicode_GET_LENGTH(protocol);
  const char *pd = (const char *)PyUnicode_1BYTE_DATA(protocol);
  if ((plen == 6 && memcmp(pd, "HTTP/2", 6) == 0) || (plen == 8 && memcmp(pd, "HTTP/2.0", 8) == 0))
    version = s_v2;
  else if (plen == 8 && memcmp(pd, "HTTP/1.0", 8) == 0)
    version = s_v10;

  scope = PyDict_New();
  if (scope == NULL) goto fail;
  if (PyDict_SetItem(scope, s_type, s_http) < 0 || PyDict_SetItem(scope, s_asgi, asgi_version) < 0 ||
      PyDict_SetItem(scope, s_http_version, version) < 0 || PyDict_SetItem(scope, s_method, method) < 0 ||
      PyDict_SetItem(scope, s_scheme, scheme) < 0 || PyDict_SetItem(scope, s_path, path) < 0)
    goto fail;
  if (raw_path_len) {
    if (put(scope, s_raw_path, PyBytes_FromStringAndSize(uri, raw_path_len)) < 0) goto fail;
  } else if (PyDict_SetItem(scope, s_raw_path, Py_None) < 0) {
    goto fail;
  }
  if (put(scope, s_query_string, latin1_bytes(query)) < 0 || PyDict_SetItem(scope, s_root_path, root_path) < 0 ||
      PyDict_SetItem(scope, s_headers, headers) < 0)
    goto fail;
  PyObject *addr = PyDict_GetItemWithError(env, k_remote_addr);
  if (addr == NULL && PyErr_Occurred()) goto fail;
  if (addr != NULL && PyUnicode_GET_LENGTH(addr)) {
    PyObject *rport = PyDict_GetItemWithError(env, k_remote_port);
    if (rport == NULL && PyErr_Occurred()) goto fail;
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL) goto fail;
    PyObject *p = port(rport, zero);
    Py_DECREF(zero);
    if (p == NULL) goto fail;
    PyObject *client = PyTuple_Pack(2, addr, p);
    Py_DECREF(p);
    if (put(scope, s_client, client) < 0) goto fail;
  } else if (PyDict_SetItem(scope, s_client, Py_None) < 0) {
    goto fail;
  }
  PyObject *sp = port(sport, Py_None);
  if (sp == NULL) goto fail;
  PyObject *server = PyTuple_Pack(2, sname, sp);
  Py_DECREF(sp);
  if (put(scope, s_server, server) < 0 || put(scope, s_extensions, PyDict_New()) < 0) goto fail;
  if (state != Py_None && put(scope, s_state, PyObject_CallMethodNoArgs(state, s_copy)) < 0) goto fail;
  Py_DECREF(headers);
  Py_DECREF(path);
  Py_DECREF(root_path);
  return scope;
fail:
  Py_DECREF(headers);
  Py_XDECREF(path);
  Py_XDECREF(root_path);
  Py_XDECREF(scope);
  return NULL;
}

static PyObject *scope_setup(PyObject *self, PyObject *args) {
  PyObject *version, *func;
  if (!PyArg_ParseTuple(args, "O!O:scope_setup", &PyDict_Type, &version, &func)) return NULL;
  Py_INCREF(version);
  Py_XSETREF(asgi_version, version);
  Py_INCREF(func);
  Py_XSETREF(py_build_scope, func);
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"decode_environ", (PyCFunction)(void (*)(void))decode_environ, METH_VARARGS | METH_KEYWORDS,
     "decode_environ(buf, start, length, base=None): the environ block buf[start:start+length] "
     "(latin-1 key\\0value pairs) as a dict (a copy of base updated with the pairs)."},
    {"build_scope", (PyCFunction)(void (*)(void))build_scope, METH_VARARGS | METH_KEYWORDS,
     "build_scope(env, state=None): the ASGI http scope (asgi.build_scope)."},
    {"scope_setup", scope_setup, METH_VARARGS,
     "scope_setup(asgi_version, python_build_scope): the shared 'asgi' dict and the fallback."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hearth_worker._speedups",
                                    "C versions of hearth_worker's per-request functions.", -1, methods,
                                    NULL, NULL, NULL, NULL};

static int intern(PyObject **slot, const char *text) {
  *slot = PyUnicode_InternFromString(text);
  return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC PyInit__speedups(void) {
  if (intern(&s_type, "type") || intern(&s_http, "http") || intern(&s_asgi, "asgi") ||
      intern(&s_http_version, "http_version") || intern(&s_method, "method") || intern(&s_scheme, "scheme") ||
      intern(&s_path, "path") || intern(&s_raw_path, "raw_path") || intern(&s_query_string, "query_string") ||
      intern(&s_root_path, "root_path") || intern(&s_headers, "headers") || intern(&s_client, "client") ||
      intern(&s_server, "server") || intern(&s_extensions, "extensions") || intern(&s_state, "state") ||
      intern(&s_v11, "1.1") || intern(&s_v10, "1.0") || intern(&s_v2, "2") || intern(&s_slash, "/") ||
      intern(&s_empty, "") || intern(&s_copy, "copy") || intern(&s_lower, "lower") ||
      intern(&s_replace, "replace") || intern(&s_underscore, "_") || intern(&s_dash, "-") ||
      intern(&k_content_type, "CONTENT_TYPE") ||
      intern(&k_content_length, "CONTENT_LENGTH") || intern(&k_request_uri, "REQUEST_URI") ||
      intern(&k_remote_addr, "REMOTE_ADDR") || intern(&k_remote_port, "REMOTE_PORT"))
    return NULL;
  for (int i = 0; i < 9; i++)
    if (intern(&k_fields[i], field_names[i])) return NULL;
  b_content_type = PyBytes_FromString("content-type");
  b_content_length = PyBytes_FromString("content-length");
  b_empty = PyBytes_FromStringAndSize(NULL, 0);
  header_names = PyDict_New();
  if (b_content_type == NULL || b_content_length == NULL || b_empty == NULL || header_names == NULL) return NULL;
  return PyModule_Create(&module);
}
