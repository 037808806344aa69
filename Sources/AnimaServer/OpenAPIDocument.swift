/// The OpenAPI 3.1 description of Anima's HTTP API, served at /openapi.json. A test
/// checks that every route the router serves is described here.
enum OpenAPIDocument {
    static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Anima",
            "version": "0.1.0",
            "description": "An LLM operating system: OpenAI-compatible endpoints and the kernel's syscalls over HTTP. Every route but /health needs a bearer token (anima token create)."
          },
          "servers": [{"url": "http://127.0.0.1:8420"}],
          "security": [{"bearer": []}],
          "paths": {
            "/health": {
              "get": {
                "operationId": "health", "security": [],
                "responses": {"200": {"description": "The daemon is up.", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}}}}}
              }
            },
            "/openapi.json": {
              "get": {"operationId": "openapi", "responses": {"200": {"description": "This document.", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/metrics": {
              "get": {"operationId": "metrics", "responses": {"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/v1/models": {
              "get": {"operationId": "listModels", "responses": {"200": {"description": "Models served.", "content": {"application/json": {"schema": {"type": "object", "required": ["object", "data"], "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/v1/models/{id}": {
              "get": {"operationId": "getModel", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "One model.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Model"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/v1/chat/completions": {
              "post": {
                "operationId": "createChatCompletion",
                "parameters": [{"$ref": "#/components/parameters/Privacy"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletionRequest"}}}},
                "responses": {
                  "200": {"description": "A completion, or with stream=true a stream of chunks.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletion"}}, "text/event-stream": {"schema": {"type": "string"}}}},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/completions": {
              "post": {
                "operationId": "createCompletion",
                "parameters": [{"$ref": "#/components/parameters/Privacy"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["model", "prompt"], "properties": {"model": {"type": "string"}, "prompt": {"type": "string"}, "max_tokens": {"type": "integer", "minimum": 1, "maximum": 100000000}, "max_completion_tokens": {"type": "integer", "minimum": 1, "maximum": 100000000}, "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "top_p": {"type": "number", "minimum": 0, "maximum": 1}, "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2}, "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}]}, "seed": {"type": "integer", "minimum": -9007199254740992, "maximum": 9007199254740992}, "stream": {"type": "boolean"}, "privacy": {"$ref": "#/components/schemas/Privacy"}}}}}},
                "responses": {
                  "200": {"description": "A completion.", "content": {"application/json": {"schema": {"type": "object", "required": ["id", "object", "created", "model", "choices"], "properties": {"id": {"type": "string"}, "object": {"const": "text_completion"}, "created": {"type": "integer"}, "model": {"type": "string"}, "choices": {"type": "array", "items": {"type": "object", "required": ["text", "index", "finish_reason"], "properties": {"text": {"type": "string"}, "index": {"type": "integer"}, "logprobs": {"type": "null"}, "finish_reason": {"type": "string"}}}}, "usage": {"$ref": "#/components/schemas/Usage"}}}}, "text/event-stream": {"schema": {"type": "string"}}}},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/v1/embeddings": {
              "post": {
                "operationId": "createEmbedding",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["model", "input"], "properties": {"model": {"type": "string"}, "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2048}]}, "encoding_format": {"enum": ["float", "base64"]}}}}}},
                "responses": {
                  "200": {"description": "Embeddings, normalised.", "content": {"application/json": {"schema": {"type": "object", "required": ["object", "data", "model", "usage"], "properties": {"object": {"const": "list"}, "model": {"type": "string"}, "data": {"type": "array", "items": {"type": "object", "required": ["object", "index", "embedding"], "properties": {"object": {"const": "embedding"}, "index": {"type": "integer"}, "embedding": {"oneOf": [{"type": "array", "items": {"type": "number"}}, {"type": "string"}]}}}}, "usage": {"type": "object", "required": ["prompt_tokens", "total_tokens"], "properties": {"prompt_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}}}}}}},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/anima/v1/processes": {
              "get": {"operationId": "listProcesses", "responses": {"200": {"description": "The caller's processes.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Process"}}}}}, "default": {"$ref": "#/components/responses/Error"}}},
              "post": {"operationId": "spawnProcess", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentSpec"}}}}, "responses": {"201": {"description": "Spawned.", "content": {"application/json": {"schema": {"type": "object", "required": ["pid"], "properties": {"pid": {"type": "integer"}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/processes/{pid}": {
              "get": {"operationId": "getProcess", "parameters": [{"$ref": "#/components/parameters/pid"}], "responses": {"200": {"description": "The process.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Process"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/processes/{pid}/signal": {
              "post": {"operationId": "signalProcess", "parameters": [{"$ref": "#/components/parameters/pid"}], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["signal"], "properties": {"signal": {"enum": ["suspend", "resume", "terminate"]}}}}}}, "responses": {"200": {"description": "The process after the signal.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Process"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/processes/{pid}/wait": {
              "get": {"operationId": "waitProcess", "parameters": [{"$ref": "#/components/parameters/pid"}], "responses": {"200": {"description": "The process once it has exited.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Process"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/agents/run": {
              "post": {"operationId": "runAgent", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentSpec"}}}}, "responses": {"200": {"description": "Server-sent events: spawned, state, text, tool_call, tool_result, exited.", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/tools": {
              "get": {"operationId": "listTools", "responses": {"200": {"description": "Tools, as OpenAI function definitions.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/tools/{name}": {
              "post": {"operationId": "callTool", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"arguments": {"type": "object"}}}}}}, "responses": {"200": {"description": "The tool's output.", "content": {"application/json": {"schema": {"type": "object", "required": ["output", "is_error"], "properties": {"output": {"type": "string"}, "is_error": {"type": "boolean"}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/memory": {
              "get": {"operationId": "listMemory", "parameters": [{"name": "prefix", "in": "query", "required": false, "schema": {"type": "string"}}], "responses": {"200": {"description": "Keys in the caller's memory.", "content": {"application/json": {"schema": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "string"}}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/memory/{key}": {
              "get": {"operationId": "readMemory", "parameters": [{"$ref": "#/components/parameters/key"}], "responses": {"200": {"description": "The value.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MemoryEntry"}}}}, "default": {"$ref": "#/components/responses/Error"}}},
              "put": {"operationId": "writeMemory", "parameters": [{"$ref": "#/components/parameters/key"}], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["value"], "properties": {"value": {}}}}}}, "responses": {"200": {"description": "Stored.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MemoryEntry"}}}}, "default": {"$ref": "#/components/responses/Error"}}},
              "delete": {"operationId": "eraseMemory", "parameters": [{"$ref": "#/components/parameters/key"}], "responses": {"204": {"description": "Erased."}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/agent-memory/search": {
              "get": {"operationId": "searchAgentMemory", "description": "Search the persistent memory of the caller's agents by words and meaning.", "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1, "pattern": "\\S"}}, {"name": "agent", "in": "query", "required": false, "schema": {"$ref": "#/components/schemas/AgentName"}}, {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 100}}], "responses": {"200": {"description": "Messages and passages, best first within each agent.", "headers": {"Anima-Damaged-Records": {"description": "How many matches were left out because their sealed record no longer opens (a damaged disk); absent when none. Restore memory/memory.sqlite from a backup.", "schema": {"type": "integer", "minimum": 1}}}, "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/MemoryRecord"}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/agent-memory/{agent}/passages": {
              "post": {"operationId": "insertAgentMemory", "parameters": [{"$ref": "#/components/parameters/agent"}], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1, "pattern": "\\S"}, "tags": {"type": "array", "items": {"type": "string"}}}}}}}, "responses": {"201": {"description": "Saved to the agent's archival memory.", "content": {"application/json": {"schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/agent-memory/{agent}/forget": {
              "post": {"operationId": "forgetAgentMemory", "description": "Erase messages and passages (text and vectors) of one of the caller's agents, or all it kept; audited.", "parameters": [{"$ref": "#/components/parameters/agent"}], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"all": {"type": "boolean"}, "messages": {"type": "array", "maxItems": 10000, "items": {"type": "integer", "minimum": 1, "maximum": 9000000000000000}}, "passages": {"type": "array", "maxItems": 10000, "items": {"type": "integer", "minimum": 1, "maximum": 9000000000000000}}}}}}}, "responses": {"200": {"description": "How many records were erased.", "content": {"application/json": {"schema": {"type": "object", "required": ["erased"], "properties": {"erased": {"type": "integer", "minimum": 0}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/workflows": {
              "get": {"operationId": "listWorkflows", "description": "The caller's workflows (every one for root); needs the workflows scope.", "responses": {"200": {"description": "Workflows.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["name", "version", "owner"], "properties": {"name": {"type": "string"}, "version": {"type": "integer"}, "owner": {"type": "string"}, "description": {"type": "string"}, "steps": {"type": "integer"}, "triggers": {"type": "array", "items": {"type": "string"}}}}}}}}, "default": {"$ref": "#/components/responses/Error"}}},
              "post": {"operationId": "addWorkflow", "description": "Add or replace a workflow (a file of contrib/workflows/workflow.schema.json) owned by the caller. A webhook workflow's signing secret is returned.", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "steps"]}}}}, "responses": {"201": {"description": "Added.", "content": {"application/json": {"schema": {"type": "object", "required": ["name", "version"], "properties": {"name": {"type": "string"}, "version": {"type": "integer"}, "webhook_secret": {"type": "string"}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/workflows/{name}": {
              "get": {"operationId": "getWorkflow", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "The workflow and its file.", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}},
              "delete": {"operationId": "removeWorkflow", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "Removed; its runs and history stay.", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/workflows/{name}/runs": {
              "post": {"operationId": "startWorkflowRun", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}], "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"inputs": {"type": "object"}}}}}}, "responses": {"201": {"description": "The run, queued.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WorkflowRun"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/workflows/{name}/webhook": {
              "post": {"operationId": "workflowWebhook", "security": [], "description": "Starts a run with the body as inputs (labelled web). Authenticated by X-Anima-Signature: sha256=HEX, the HMAC-SHA256 of the raw body under the workflow's secret, instead of a token.", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}, {"name": "X-Anima-Signature", "in": "header", "required": true, "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}}], "requestBody": {"required": true, "content": {"application/json": {"schema": {}}}}, "responses": {"202": {"description": "The run was queued.", "content": {"application/json": {"schema": {"type": "object", "required": ["run", "status"], "properties": {"run": {"type": "string"}, "status": {"type": "string"}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/runs": {
              "get": {"operationId": "listWorkflowRuns", "parameters": [{"name": "workflow", "in": "query", "required": false, "schema": {"type": "string"}}, {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 10000}}], "responses": {"200": {"description": "Runs, newest first.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/WorkflowRun"}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/runs/{id}": {
              "get": {"operationId": "getWorkflowRun", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "The run with its steps (status, attempt, idempotency key, output and its provenance label).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WorkflowRun"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/runs/{id}/history": {
              "get": {"operationId": "getWorkflowRunHistory", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "Everything that happened in the run, in order.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["sequence", "at", "event", "detail"], "properties": {"sequence": {"type": "integer"}, "at": {"type": "string"}, "event": {"type": "string"}, "step": {"type": "string"}, "detail": {"type": "string"}}}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/runs/{id}/cancel": {
              "post": {"operationId": "cancelWorkflowRun", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "Cancelling at the next step boundary.", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/runs/{id}/approve": {
              "post": {"operationId": "approveWorkflowStep", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["step"], "properties": {"step": {"type": "string"}, "approved": {"type": "boolean"}}}}}}, "responses": {"200": {"description": "Decided.", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            },
            "/anima/v1/audit": {
              "get": {"operationId": "readAudit", "parameters": [{"name": "after", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": 9007199254740992}}, {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}], "responses": {"200": {"description": "Audit records after a sequence number.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/AuditRecord"}}}}}, "default": {"$ref": "#/components/responses/Error"}}}
            }
          },
          "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": {
              "pid": {"name": "pid", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 4294967295}},
              "Privacy": {"name": "X-Anima-Privacy", "in": "header", "required": false, "description": "private keeps the request on this machine whatever the mode (the same as the body's privacy.private).", "schema": {"enum": ["public", "private"]}},
              "key": {"name": "key", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}},
              "agent": {"name": "agent", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/AgentName"}}
            },
            "responses": {
              "Error": {"description": "An error, in OpenAI's shape.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
            "schemas": {
              "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["message", "type"], "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}},
              "Model": {"type": "object", "required": ["id", "object", "created", "owned_by"], "properties": {"id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"}, "owned_by": {"type": "string"}}},
              "Usage": {"type": "object", "required": ["prompt_tokens", "completion_tokens", "total_tokens"], "properties": {"prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}},
              "ChatMessage": {"type": "object", "required": ["role"], "properties": {"role": {"enum": ["system", "developer", "user", "assistant", "tool"]}, "content": {"oneOf": [{"type": "string"}, {"type": "null"}, {"type": "array", "items": {"type": "object", "required": ["type", "text"], "properties": {"type": {"const": "text"}, "text": {"type": "string"}}}}]}, "tool_call_id": {"type": "string"}, "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"}}}},
              "ToolCall": {"type": "object", "required": ["id", "type", "function"], "properties": {"id": {"type": "string"}, "index": {"type": "integer"}, "type": {"const": "function"}, "function": {"type": "object", "required": ["name", "arguments"], "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}}}}},
              "ChatCompletionRequest": {"type": "object", "required": ["model", "messages"], "properties": {"model": {"type": "string"}, "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ChatMessage"}}, "tools": {"type": "array", "items": {"type": "object", "required": ["type", "function"], "properties": {"type": {"const": "function"}, "function": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}, "description": {"type": "string"}, "parameters": {"type": "object"}}}}}}, "tool_choice": {"oneOf": [{"enum": ["none", "auto", "required"]}, {"type": "object", "required": ["type", "function"], "properties": {"type": {"const": "function"}, "function": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}]}, "response_format": {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["text", "json_object", "json_schema"]}, "json_schema": {"type": "object", "properties": {"name": {"type": "string"}, "schema": {"type": "object"}, "strict": {"type": "boolean"}}}}}, "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "top_p": {"type": "number", "minimum": 0, "maximum": 1}, "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2}, "max_tokens": {"type": "integer", "minimum": 1, "maximum": 100000000}, "max_completion_tokens": {"type": "integer", "minimum": 1, "maximum": 100000000}, "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}]}, "seed": {"type": "integer", "minimum": -9007199254740992, "maximum": 9007199254740992}, "n": {"type": "integer", "minimum": 1, "maximum": 1}, "stream": {"type": "boolean"}, "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}}, "privacy": {"$ref": "#/components/schemas/Privacy"}}},
              "ChatCompletion": {"type": "object", "required": ["id", "object", "created", "model", "choices", "usage"], "properties": {"id": {"type": "string"}, "object": {"const": "chat.completion"}, "created": {"type": "integer"}, "model": {"type": "string"}, "choices": {"type": "array", "items": {"type": "object", "required": ["index", "message", "finish_reason"], "properties": {"index": {"type": "integer"}, "message": {"type": "object", "required": ["role", "content"], "properties": {"role": {"const": "assistant"}, "content": {"type": ["string", "null"]}, "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"}}}}, "logprobs": {"type": "null"}, "finish_reason": {"enum": ["stop", "length", "tool_calls"]}}}}, "usage": {"$ref": "#/components/schemas/Usage"}}},
              "AgentSpec": {"type": "object", "required": ["task"], "properties": {"task": {"type": "string", "minLength": 1}, "name": {"type": "string"}, "system": {"type": "string"}, "tools": {"type": "array", "items": {"type": "string"}}, "priority": {"type": "integer", "minimum": -20, "maximum": 20}, "max_steps": {"type": "integer", "minimum": 1, "maximum": 1000}, "max_tokens": {"type": "integer", "minimum": 1, "maximum": 10000000}, "max_tool_calls": {"type": "integer", "minimum": 0, "maximum": 100000}, "max_seconds": {"type": "integer", "minimum": 1, "maximum": 86400}, "tokens_per_step": {"type": "integer", "minimum": 1, "maximum": 100000}, "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "memory": {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$", "description": "run with the persistent memory of this agent of the token's user"}, "privacy": {"$ref": "#/components/schemas/Privacy"}}},
              "Privacy": {"type": "object", "additionalProperties": false, "description": "Where the request's data may go. Private data, and data of the groups the router protects, is served on this machine only; the kernel also marks a process private once its context holds memory or file contents.", "properties": {"private": {"type": "boolean"}, "groups": {"type": "array", "maxItems": 64, "items": {"type": "string", "minLength": 1}}}},
              "Process": {"type": "object", "required": ["pid", "parent", "name", "owner", "groups", "state", "priority", "usage", "slot", "started"], "properties": {"pid": {"type": "integer"}, "parent": {"type": ["integer", "null"]}, "name": {"type": "string"}, "owner": {"type": "string"}, "groups": {"type": "array", "items": {"type": "string"}}, "state": {"type": "string"}, "priority": {"type": "integer"}, "usage": {"type": "object", "required": ["prompt_tokens", "generated_tokens", "tool_calls", "syscalls"], "properties": {"prompt_tokens": {"type": "integer"}, "generated_tokens": {"type": "integer"}, "tool_calls": {"type": "integer"}, "syscalls": {"type": "integer"}}}, "slot": {"type": ["integer", "null"]}, "started": {"type": "string"}, "exit": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}, "answer": {"type": "string"}}}}},
              "WorkflowRun": {"type": "object", "required": ["id", "workflow", "version", "owner", "status", "inputs", "trigger", "created", "updated"], "properties": {"id": {"type": "string"}, "workflow": {"type": "string"}, "version": {"type": "integer"}, "owner": {"type": "string"}, "groups": {"type": "array", "items": {"type": "string"}}, "status": {"enum": ["pending", "running", "waiting", "completed", "failed", "cancelled"]}, "inputs": {"type": "object"}, "output": {}, "output_label": {"type": "string"}, "error": {"type": "string"}, "trigger": {"type": "string"}, "parent": {"type": "string"}, "created": {"type": "string"}, "updated": {"type": "string"}, "steps": {"type": "array", "items": {"type": "object"}}}},
              "AgentName": {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"},
              "MemoryRecord": {"type": "object", "required": ["agent", "kind", "id", "text", "label", "created", "score"], "properties": {"agent": {"type": "string"}, "kind": {"type": "string", "enum": ["message", "passage"]}, "id": {"type": "integer"}, "text": {"type": "string"}, "label": {"type": "string"}, "created": {"type": "string", "format": "date-time"}, "score": {"type": "number"}}},
              "MemoryEntry": {"type": "object", "required": ["key", "value"], "properties": {"key": {"type": "string"}, "value": {}}},
              "AuditRecord": {"type": "object", "required": ["sequence", "time", "pid", "owner", "syscall", "summary", "outcome"], "properties": {"sequence": {"type": "integer"}, "time": {"type": "string"}, "pid": {"type": "integer"}, "owner": {"type": "string"}, "syscall": {"type": "string"}, "summary": {"type": "string"}, "outcome": {"type": "object", "required": ["result"], "properties": {"result": {"enum": ["completed", "denied", "failed"]}, "reason": {"type": "string"}}}}}
            }
          }
        }
        """#
}
