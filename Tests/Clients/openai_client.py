"""Drives a running Anima daemon with the official `openai` Python package.

Usage: openai_client.py BASE_URL TOKEN CHAT_MODEL EMBEDDING_MODEL
Prints one line per check and exits non-zero at the first failure.
"""
import json
import sys

import openai

from checks import check

base, token, chat_model, embedding_model = sys.argv[1:5]
client = openai.OpenAI(base_url=base + "/v1", api_key=token, max_retries=0, timeout=120)


models = [m.id for m in client.models.list().data]
check("models", chat_model in models and embedding_model in models, models)

reply = client.chat.completions.create(
    model=chat_model, temperature=0, max_tokens=24,
    messages=[{"role": "user", "content": "What is the capital of France?"}])
check("chat", "Paris" in reply.choices[0].message.content, reply)
check("chat usage", reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0, reply.usage)

pieces, finish = [], None
stream = client.chat.completions.create(
    model=chat_model, temperature=0, max_tokens=24, stream=True, stream_options={"include_usage": True},
    messages=[{"role": "user", "content": "What is the capital of France?"}])
usage = None
for chunk in stream:
    if chunk.usage:
        usage = chunk.usage
    for choice in chunk.choices:
        pieces.append(choice.delta.content or "")
        finish = choice.finish_reason or finish
check("stream", "".join(pieces) == reply.choices[0].message.content, ("".join(pieces), reply.choices[0].message.content))
check("stream finish", finish in ("stop", "length") and usage is not None, (finish, usage))

weather = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}}, "required": ["city"]}}}
reply = client.chat.completions.create(
    model=chat_model, temperature=0, max_tokens=80, tools=[weather], tool_choice="required", parallel_tool_calls=False,
    messages=[{"role": "user", "content": "What is the weather in Berlin?"}])
calls = reply.choices[0].message.tool_calls or []
check("tool call", reply.choices[0].finish_reason == "tool_calls" and calls and calls[0].function.name == "get_weather", reply)
arguments = json.loads(calls[0].function.arguments)
check("tool call arguments", isinstance(arguments.get("city"), str), arguments)
followup = client.chat.completions.create(
    model=chat_model, temperature=0, max_tokens=24, tools=[weather],
    messages=[{"role": "user", "content": "What is the weather in Berlin?"}, reply.choices[0].message,
              {"role": "tool", "tool_call_id": calls[0].id, "content": "{\"temperature\": 18}"}])
check("tool round trip", followup.choices[0].message.content is not None or followup.choices[0].message.tool_calls, followup)

schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
          "kind": {"enum": ["cat", "dog"]}, "age": {"type": "integer", "minimum": 0, "maximum": 20}},
          "required": ["name", "kind", "age"], "additionalProperties": False}
reply = client.chat.completions.create(
    model=chat_model, temperature=0, max_tokens=80,
    response_format={"type": "json_schema", "json_schema": {"name": "pet", "schema": schema, "strict": True}},
    messages=[{"role": "user", "content": "Describe a pet as JSON."}])
pet = json.loads(reply.choices[0].message.content)
check("json schema", set(pet) == {"name", "kind", "age"} and pet["kind"] in ("cat", "dog") and 0 <= pet["age"] <= 20, pet)

embeddings = client.embeddings.create(model=embedding_model, input=["a cat sat on the mat", "a kitten rested on the rug", "stock markets fell"])
vectors = [e.embedding for e in embeddings.data]
check("embeddings", len(vectors) == 3 and len(vectors[0]) == 384, len(vectors))
dot = lambda a, b: sum(x * y for x, y in zip(a, b))
check("embedding similarity", dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2]), (dot(vectors[0], vectors[1]), dot(vectors[0], vectors[2])))

completion = client.completions.create(model=chat_model, prompt="The capital of France is", max_tokens=8, temperature=0)
check("completions", len(completion.choices[0].text) > 0, completion)

try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    check("unknown model", False, "no error")
except openai.NotFoundError as error:
    check("unknown model", error.status_code == 404 and "no-such-model" in str(error), error)

try:
    openai.OpenAI(base_url=base + "/v1", api_key="anima_bad_token", max_retries=0).models.list()
    check("bad token", False, "no error")
except openai.AuthenticationError as error:
    check("bad token", error.status_code == 401, error)
print("all ok")
