"""What every face shares about HTTP, below all of them: ids and their patterns, problem
responses, request context, content negotiation, and the wire form of a draft and its stream.

The API controllers (``reply_assist.api``) and the reply desk (``reply_assist.web``) both import
from here; nothing here imports a face or the store.
"""
