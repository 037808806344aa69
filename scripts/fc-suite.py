#!/usr/bin/env python3
"""Writes contrib/bench/function-calling.json: Anima's own function-calling suite.

Deterministic (no randomness): the same script always writes the same file. Five
categories: single (one tool offered, one call), choose (several tools, one right call),
parallel (several calls in one answer), none (tools offered, none needed) and convert
(arguments that need conversion from the user's words: units, numbers in words, dates).
"""
import json, os

S = lambda **p: p
TOOLS = {
    "calculator": ("Evaluate an arithmetic expression exactly.",
                   {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}),
    "get_weather": ("Current weather in a city.",
                    {"type": "object", "properties": {"city": {"type": "string"},
                     "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}),
    "convert_currency": ("Convert an amount of money between currencies (ISO 4217 codes).",
                         {"type": "object", "properties": {"amount": {"type": "number"}, "from": {"type": "string"},
                          "to": {"type": "string"}}, "required": ["amount", "from", "to"]}),
    "set_timer": ("Start a countdown timer.",
                  {"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]}),
    "send_email": ("Send an email.",
                   {"type": "object", "properties": {"to": {"type": "string"}, "subject": {"type": "string"},
                    "body": {"type": "string"}}, "required": ["to", "subject"]}),
    "get_stock_price": ("Latest price of a stock by its ticker symbol.",
                        {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]}),
    "translate": ("Translate text into another language.",
                  {"type": "object", "properties": {"text": {"type": "string"}, "target_language": {"type": "string"}},
                   "required": ["text", "target_language"]}),
    "create_event": ("Add an event to the calendar; date as YYYY-MM-DD.",
                     {"type": "object", "properties": {"title": {"type": "string"}, "date": {"type": "string"}},
                      "required": ["title", "date"]}),
}

cases = []
def add(category, tools, prompt, calls):
    cases.append({"id": f"{category}-{sum(c['category'] == category for c in cases) + 1:03d}",
                  "category": category, "tools": tools, "prompt": prompt,
                  "expected": [{"name": n, "arguments": a} for n, a in calls]})

cities = ["Oslo", "Paris", "Tokyo", "Lima", "Cairo", "Berlin", "Madrid", "Toronto", "Nairobi", "Sydney",
          "Rome", "Dublin", "Seoul", "Lisbon", "Vienna", "Prague", "Helsinki", "Athens", "Chicago", "Denver"]
exprs = [("17 * 23 + 4", "17*23+4"), ("2 ** 40", "2**40"), ("1234 * 5678", "1234*5678"), ("99 / 3", "99/3"),
         ("(45 + 55) * 12", "(45+55)*12"), ("7 ** 5", "7**5"), ("1000 - 387", "1000-387"), ("81 * 81", "81*81"),
         ("3.5 * 4", "3.5*4"), ("12345 + 67890", "12345+67890"), ("250 / 8", "250/8"), ("19 * 19 * 19", "19*19*19"),
         ("6 * 7 - 2", "6*7-2"), ("144 / 12", "144/12"), ("2 ** 16 - 1", "2**16-1"), ("365 * 24", "365*24"),
         ("48 * 52", "48*52"), ("900 - 123 * 4", "900-123*4"), ("13 * 17", "13*17"), ("5000 / 25", "5000/25")]
symbols = [("Apple", "AAPL"), ("Microsoft", "MSFT"), ("Nvidia", "NVDA"), ("Amazon", "AMZN"), ("Tesla", "TSLA"),
           ("Alphabet", "GOOGL"), ("Netflix", "NFLX"), ("Intel", "INTC"), ("IBM", "IBM"), ("Oracle", "ORCL")]
langs = [("good morning", "French"), ("thank you very much", "German"), ("where is the station", "Spanish"),
         ("I love reading", "Italian"), ("the bill, please", "Portuguese"), ("see you tomorrow", "Japanese"),
         ("happy birthday", "Dutch"), ("how much is it", "Swedish"), ("the cat is asleep", "Polish"),
         ("open the window", "Turkish")]
people = [("alice@example.com", "Lunch", "Are you free at noon?"), ("bob@example.org", "Report", "The report is ready."),
          ("carol@example.net", "Invoice", "Please find the invoice attached."), ("dan@example.com", "Trip", "Flights are booked."),
          ("erin@example.org", "Meeting", "Moved to Friday."), ("frank@example.com", "Keys", "I left the keys at the desk."),
          ("grace@example.net", "Party", "Bring snacks."), ("heidi@example.com", "Thanks", "Thank you for the help."),
          ("ivan@example.org", "Build", "The build is green again."), ("judy@example.com", "Plans", "Let us meet on Monday.")]

# single: one tool offered, one call (40)
for i, (e, _) in enumerate(exprs):
    add("single", ["calculator"], [f"What is {e}?", f"Compute {e}.", f"Calculate {e} for me.", f"How much is {e}?"][i % 4],
        [("calculator", {"expression": e})])
for i, c in enumerate(cities[:10]):
    add("single", ["get_weather"], [f"What's the weather in {c}?", f"Is it raining in {c} right now?",
        f"How warm is it in {c} today?", f"Weather report for {c}, please."][i % 4], [("get_weather", {"city": c})])
for n, s in symbols[:5]:
    add("single", ["get_stock_price"], f"What is {n}'s stock ({s}) trading at?", [("get_stock_price", {"symbol": s})])
for t, l in langs[:5]:
    add("single", ["translate"], f'Translate "{t}" into {l}.', [("translate", {"text": t, "target_language": l})])

# choose: all eight tools offered, one right call (60)
every = list(TOOLS)
for i, (e, _) in enumerate(exprs[:12]):
    add("choose", every, [f"What is {e}?", f"Please compute {e}.", f"Work out {e}."][i % 3], [("calculator", {"expression": e})])
for i, c in enumerate(cities[:12]):
    add("choose", every, [f"What's the weather like in {c}?", f"Do I need an umbrella in {c} today?",
        f"Current temperature in {c}?"][i % 3], [("get_weather", {"city": c})])
for n, s in symbols:
    add("choose", every, f"Get me the latest stock price of {s}.", [("get_stock_price", {"symbol": s})])
for t, l in langs:
    add("choose", every, f'How do you say "{t}" in {l}?', [("translate", {"text": t, "target_language": l})])
for to, subj, body in people[:8]:
    add("choose", every, f'Send an email to {to} with the subject "{subj}" saying "{body}"',
        [("send_email", {"to": to, "subject": subj, "body": body})])
for i, m in enumerate([5, 10, 15, 20, 25, 45, 60, 90]):
    add("choose", every, f"Set a timer for {m} minutes.", [("set_timer", {"minutes": m})])

# parallel: several calls in one answer (30)
for i in range(0, 20, 2):
    a, b = cities[i], cities[i + 1]
    add("parallel", ["get_weather"], f"What's the weather in {a} and in {b}?",
        [("get_weather", {"city": a}), ("get_weather", {"city": b})])
for i in range(10):
    (e1, _), (e2, _) = exprs[i], exprs[i + 10]
    add("parallel", ["calculator"], f"Compute {e1} and also {e2}.",
        [("calculator", {"expression": e1}), ("calculator", {"expression": e2})])
for i in range(0, 10, 2):
    (n1, s1), (n2, s2) = symbols[i], symbols[i + 1]
    add("parallel", every, f"Get the stock prices of {s1} and {s2}.",
        [("get_stock_price", {"symbol": s1}), ("get_stock_price", {"symbol": s2})])
for i in range(5):
    c, (e, _) = cities[i + 5], exprs[i + 5]
    add("parallel", every, f"What's the weather in {c}, and what is {e}?",
        [("get_weather", {"city": c}), ("calculator", {"expression": e})])

# none: tools offered, no call needed (40)
chat = ["Hello! How are you?", "Thanks, that was helpful.", "Tell me a short joke.", "What is the capital of France?",
        "Write a haiku about autumn.", "Who wrote Romeo and Juliet?", "What colour is the sky on a clear day?",
        "Say good night.", "What does CPU stand for?", "Give me a synonym for happy.", "What is a noun?",
        "How many days are in a week?", "Name a primary colour.", "What language is spoken in Brazil?",
        "Suggest a name for a pet goldfish.", "What is the opposite of cold?", "Describe a cat in one sentence.",
        "Which planet do we live on?", "Good morning!", "What is the plural of mouse?"]
for i, p in enumerate(chat):
    add("none", every, p, [])
for i, p in enumerate(chat):
    add("none", [["calculator"], ["get_weather"], ["send_email"], ["set_timer"]][i % 4], p, [])

# convert: arguments that need conversion (40)
words = [("twenty", 20), ("fifty", 50), ("one hundred", 100), ("thirty-five", 35), ("two hundred", 200),
         ("seventy", 70), ("eighty", 80), ("twelve", 12), ("ninety", 90), ("forty", 40)]
curr = [("dollars", "euros", "USD", "EUR"), ("euros", "yen", "EUR", "JPY"), ("pounds", "dollars", "GBP", "USD"),
        ("Swiss francs", "euros", "CHF", "EUR"), ("yen", "dollars", "JPY", "USD")]
for i, (w, n) in enumerate(words):
    f, t, fc, tc = curr[i % 5]
    add("convert", ["convert_currency"] if i < 5 else every, f"Convert {w} {f} to {t}.",
        [("convert_currency", {"amount": n, "from": fc, "to": tc})])
for i, (phrase, m) in enumerate([("half an hour", 30), ("an hour", 60), ("a quarter of an hour", 15), ("two hours", 120),
                                 ("twenty minutes", 20), ("three quarters of an hour", 45), ("an hour and a half", 90),
                                 ("five minutes", 5), ("ten minutes", 10), ("two and a half hours", 150)]):
    add("convert", ["set_timer"] if i < 5 else every, f"Set a timer for {phrase}.", [("set_timer", {"minutes": m})])
months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
for i, mo in enumerate(months):
    d = 3 + i * 2
    add("convert", ["create_event"] if i < 5 else every, f"Put 'Dentist' in my calendar on {mo} {d}, 2026.",
        [("create_event", {"title": "Dentist", "date": f"2026-{i + 1:02d}-{d:02d}"})])
for i, c in enumerate(cities[10:20]):
    add("convert", ["get_weather"] if i < 5 else every, f"What's the temperature in {c} in Fahrenheit?",
        [("get_weather", {"city": c, "unit": "fahrenheit"})])

doc = {"description": "Anima's function-calling suite (scripts/fc-suite.py writes it; do not edit by hand).",
       "tools": {n: {"description": d, "parameters": p} for n, (d, p) in TOOLS.items()}, "cases": cases}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "contrib", "bench", "function-calling.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
from collections import Counter
print(len(cases), dict(Counter(c["category"] for c in cases)))
