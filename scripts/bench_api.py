#!/usr/bin/env python3
"""OpenAI-style load on one chat-completions server: N clients, each sending requests
one after another on its own keep-alive connection; prints one JSON line of results.

scripts/bench-api.sh runs it against llama-server and `anima serve` in turn, with the
same arguments, so that the two are compared under the same load. Standard library only
(a raw HTTP/1.1 client on asyncio): the driver shares the machine with the server, and a
light client leaves it more of the CPU.
"""
import argparse
import asyncio
import json
import random
import statistics
import sys
import time

WORDS = (
    "river stone light forest signal harbor ember field window garden market letter winter "
    "summer bridge engine number paper silver copper mountain valley island question answer "
    "morning evening kitchen station village library doctor teacher student picture record "
    "machine pattern weather journey animal button circle corner future history"
).split()


def text(words, seed):
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def messages(kind, index, system_prompt):
    """short: a distinct one-line question; long: a distinct ~1k-token text to summarise
    (no prefix shared with other requests); shared: the same ~1k-token system prompt for
    every request, then a distinct short question (a prefix cache can reuse it)."""
    question = f"Request {index}: write a short story about a {WORDS[index % len(WORDS)]}."
    if kind == "short":
        return [{"role": "user", "content": question}]
    if kind == "long":
        return [{"role": "user", "content": f"Request {index}. Summarise this text: " + text(850, index)}]
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": question}]


async def read_headers(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def body_chunks(reader, headers):
    """Yields the body as it arrives: chunked, sized, or until the connection closes."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            yield data
    elif "content-length" in headers:
        n = int(headers["content-length"])
        if n:
            yield await reader.readexactly(n)
    else:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            yield data


class Client:
    def __init__(self, host, port, token):
        self.host, self.port, self.token = host, port, token
        self.reader = self.writer = None

    async def post(self, path, payload):
        reused = self.writer is not None
        try:
            return await self.send(path, payload)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
            # A kept-alive connection the server closed meanwhile (llama-server closes one
            # after a streamed answer): like any HTTP client, send again on a new one.
            self.close()
            if not reused:
                raise
            return await self.send(path, payload)

    async def send(self, path, payload):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        )
        if self.token:
            head += f"Authorization: Bearer {self.token}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status, headers = await read_headers(self.reader)
        if headers.get("connection", "").lower() == "close":
            self.writer = None
        return status, headers

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def one_request(client, args, index, system_prompt, result):
    payload = {
        "model": args.model,
        "messages": messages(args.prompt, index, system_prompt),
        "max_tokens": args.max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": args.stream,
    }
    if args.stream:
        payload["stream_options"] = {"include_usage": True}
    start = time.perf_counter()
    first = None
    tokens = 0
    chunks = 0
    try:
        status, headers = await client.post("/v1/chat/completions", payload)
        reader = client.reader
        if status != 200:
            raw = b"".join([c async for c in body_chunks(reader, headers)])
            result["errors"] += 1
            result["error_samples"].append(f"{status}: {raw[:200]!r}")
            client.close()
            return
        if args.stream:
            pending = b""
            async for data in body_chunks(reader, headers):
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    line = line.strip()
                    if not line.startswith(b"data:"):
                        continue
                    item = line[5:].strip()
                    if item == b"[DONE]":
                        continue
                    event = json.loads(item)
                    if "error" in event:
                        result["errors"] += 1
                        result["error_samples"].append(str(event["error"])[:200])
                    for choice in event.get("choices") or []:
                        if (choice.get("delta") or {}).get("content"):
                            chunks += 1
                            if first is None:
                                first = time.perf_counter()
                    if event.get("usage"):
                        tokens = event["usage"].get("completion_tokens", 0)
            tokens = tokens or chunks
        else:
            raw = b"".join([c async for c in body_chunks(reader, headers)])
            first = time.perf_counter()
            tokens = json.loads(raw)["usage"]["completion_tokens"]
    except Exception as error:  # noqa: BLE001 - every failure is counted, none ends the run
        result["errors"] += 1
        result["error_samples"].append(repr(error)[:200])
        client.close()
        return
    end = time.perf_counter()
    result["tokens"] += tokens
    if tokens != args.max_tokens:
        result["short_answers"] += 1
    result["ttft"].append((first or end) - start)
    result["latency"].append(end - start)
    result["trace"].append({"request": index, "start_s": round(start, 3), "ttft_s": round((first or end) - start, 3),
                            "latency_s": round(end - start, 3), "tokens": tokens})


async def run(args):
    host, port = args.url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    system_prompt = "You are a careful assistant. Background for every answer: " + text(850, 10**6)
    result = {"tokens": 0, "errors": 0, "short_answers": 0, "ttft": [], "latency": [], "error_samples": [], "trace": []}
    # One unmeasured request warms the server (and a prefix cache for the shared prompt).
    warm = Client(host, int(port), args.token)
    await one_request(warm, args, 10**7, system_prompt, {**result, "ttft": [], "latency": [], "error_samples": [], "trace": []})
    warm.close()

    async def client_loop(c):
        client = Client(host, int(port), args.token)
        for r in range(args.requests):
            await one_request(client, args, c * 1000 + r + args.offset, system_prompt, result)
        client.close()

    start = time.perf_counter()
    await asyncio.gather(*(client_loop(c) for c in range(args.clients)))
    elapsed = time.perf_counter() - start
    if args.trace:
        with open(args.trace, "w") as out:
            for item in sorted(result["trace"], key=lambda t: t["start_s"]):
                out.write(json.dumps({**item, "start_s": round(item["start_s"] - start, 3)}) + "\n")

    def pct(values, p):
        if not values:
            return None
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]

    print(
        json.dumps(
            {
                "server": args.label,
                "clients": args.clients,
                "stream": args.stream,
                "max_tokens": args.max_tokens,
                "prompt": args.prompt,
                "requests": args.clients * args.requests,
                "errors": result["errors"],
                "short_answers": result["short_answers"],
                "tokens": result["tokens"],
                "seconds": round(elapsed, 3),
                "tokens_per_second": round(result["tokens"] / elapsed, 2),
                "ttft_p50_ms": round(pct(result["ttft"], 0.5) * 1000, 1) if result["ttft"] else None,
                "ttft_p99_ms": round(pct(result["ttft"], 0.99) * 1000, 1) if result["ttft"] else None,
                "latency_p50_ms": round(statistics.median(result["latency"]) * 1000, 1) if result["latency"] else None,
                "error_samples": result["error_samples"][:3],
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--model", required=True)
    parser.add_argument("--label", default="server")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--requests", type=int, default=2, help="requests per client, one after another")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", choices=["short", "long", "shared"], default="short")
    parser.add_argument("--offset", type=int, default=0, help="added to request numbers, so rounds differ")
    parser.add_argument("--trace", help="a file for one JSON line per request: its start, first token and latency in seconds")
    args = parser.parse_args()
    if not (1 <= args.clients <= 4096 and 1 <= args.requests <= 100000 and 1 <= args.max_tokens <= 100000):
        sys.exit("clients, requests and max-tokens must be positive (clients at most 4096)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
