"""basic:app wrapped in wsgiref.validate.validator, warnings as errors."""
from basic import app as _raw
from wsgi_strict import strict

app = strict(_raw)
