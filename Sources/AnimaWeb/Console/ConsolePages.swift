import Mustache

/// The console's pages as Mustache templates: every `{{value}}` is HTML-escaped, so text
/// from agents, memory or users can never become markup. Only `{{{body}}}` in the layout
/// (a page this library rendered), the SVG charts `SVGChart` drew and the process rows
/// `ProcessRows` wrote (both escaping each value with `HTML.escape`) are raw.
enum ConsolePages {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        let all = templates.merging(adminTemplates, uniquingKeysWith: { a, _ in a }).merging(insightTemplates, uniquingKeysWith: { a, _ in a })
        for (name, text) in all {
            do { try library.register(text, named: name) } catch { fatalError("console template \(name) does not parse: \(error)") }
        }
        return library
    }()

    /// Renders `page` with `data` inside the layout.
    static func render(_ page: String, title: String, data: [String: Any], session: (user: String, csrf: String)?) -> String {
        let body = library.render(data, withTemplate: page) ?? ""
        var layout: [String: Any] = ["title": title, "body": body]
        if let session { layout["user"] = session.user; layout["csrf"] = session.csrf }
        return library.render(layout, withTemplate: "layout") ?? ""
    }

    static let templates: [String: String] = [
        "layout": """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Anima</title>
        <link rel="stylesheet" href="/web/static/console.css">
        <script src="/web/static/console.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
        <strong>Anima</strong>
        {{#user}}
        <nav aria-label="Console">
        <a href="/web/processes">Processes</a>
        <a href="/web/chat">Chat</a>
        <a href="/web/approvals">Approvals</a>
        <a href="/web/context">Context</a>
        <a href="/web/memory">Memory</a>
        <a href="/web/tools">Tools</a>
        <a href="/web/audit">Audit</a>
        <a href="/web/policies">Policies</a>
        <a href="/web/tokens">Tokens</a>
        <a href="/web/processors">Processors</a>
        <a href="/web/metrics">Metrics</a>
        </nav>
        <form method="post" action="/web/signout" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <span>Signed in as {{user}}</span> <button type="submit">Sign out</button>
        </form>
        {{/user}}
        </header>
        {{#user}}<p id="notice" hidden role="status"><a href="/web/approvals">Calls wait for your approval</a></p>{{/user}}
        <main id="main" tabindex="-1">
        <h1>{{title}}</h1>
        {{{body}}}
        </main>
        </body>
        </html>
        """,
        "signin": """
        <p>Sign in with the passkey you registered for this console.</p>
        <p><button type="button" id="signin" data-action="signin">Sign in with a passkey</button></p>
        <p role="status" id="status" aria-live="polite"></p>
        <p>No passkey yet? Run <code>anima web enroll</code> on the daemon's machine and
        <a href="/web/enroll">register one with the code it prints</a>.</p>
        <noscript><p>Passkey sign-in needs JavaScript; pages can be read without it once signed in.</p></noscript>
        """,
        "enroll": """
        <p>Register a passkey with the one-time code that <code>anima web enroll</code> printed.</p>
        <form id="enroll" data-action="enroll">
        <label for="code">Enrollment code</label>
        <input id="code" name="code" autocomplete="one-time-code" required spellcheck="false">
        <button type="submit">Register a passkey</button>
        </form>
        <p role="status" id="status" aria-live="polite"></p>
        """,
        "processes": """
        <p><a href="/web/processes" id="refresh">Refresh</a>
        <span id="live" data-live="/web/processes/live" role="status" aria-live="polite"></span></p>
        <form method="post" action="/web/processes/signal"><input type="hidden" name="csrf" value="{{csrf}}">
        <div class="scroll" tabindex="0" role="region" aria-label="Process table">
        <table id="process-table" class="pieces">
        <caption>{{count}} process(es)</caption>
        <thead><tr><th scope="col">PID</th><th scope="col">Parent</th><th scope="col">Name</th><th scope="col">Owner</th>
        <th scope="col">State</th><th scope="col">Tokens</th><th scope="col">Tool calls</th><th scope="col">Signal</th></tr></thead>
        <tbody>
        {{{rows}}}
        </tbody>
        </table>
        </div>
        </form>
        <h2>Tree</h2>
        {{^roots}}<p>No process has a child.</p>{{/roots}}
        <ul class="tree">{{#roots}}{{> node}}{{/roots}}</ul>
        {{#hasLone}}<p>{{lone}} process(es) with neither a parent nor a child are in the table only.</p>{{/hasLone}}
        """,
        "node": """
        <li>{{pid}} {{name}} <small>({{owner}}, {{state}})</small>{{#hasChildren}}<ul>{{#children}}{{> node}}{{/children}}</ul>{{/hasChildren}}</li>
        """,
        "approvals": """
        {{^approvals}}<p>No calls wait for an answer.</p>{{/approvals}}
        {{#approvals}}
        <section class="card" aria-labelledby="ap-{{id}}">
        <h2 id="ap-{{id}}">Process {{pid}} wants to call {{tool}}</h2>
        <p>{{reason}}</p>
        <dl>{{#arguments}}<dt>{{path}}</dt><dd>{{value}} <small>from {{sources}}{{^trusted}} (untrusted){{/trusted}}</small></dd>{{/arguments}}</dl>
        <form method="post" action="/web/approvals/{{pid}}/{{id}}" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" name="decision" value="approve">Approve</button>
        <button type="submit" name="decision" value="deny">Deny</button>
        </form>
        </section>
        {{/approvals}}
        """,
        "memory": """
        <form method="get" action="/web/memory" role="search">
        <label for="q">Search memory</label> <input id="q" name="q" value="{{query}}">
        <label for="agent">Agent</label> <input id="agent" name="agent" value="{{agent}}">
        <button type="submit">Search</button>
        </form>
        {{#searched}}<p>{{count}} result(s).</p>{{/searched}}
        <ul class="results">
        {{#records}}
        <li><p><strong>{{agent}}</strong> · {{kind}} {{id}} · {{source}}</p><p>{{text}}</p>
        <form method="post" action="/web/memory/forget" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="agent" value="{{agent}}">
        <input type="hidden" name="kind" value="{{kind}}"><input type="hidden" name="id" value="{{id}}">
        <button type="submit">Forget {{kind}} {{id}}</button></form></li>
        {{/records}}
        </ul>
        """,
        "audit": """
        <p role="status" class="{{#intact}}ok{{/intact}}{{^intact}}bad{{/intact}}"><strong>Chain {{verdict}}</strong></p>
        <div class="scroll" tabindex="0" role="region" aria-label="Audit records">
        <table>
        <caption>Newest first, at most 200 records</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">PID</th><th scope="col">Owner</th>
        <th scope="col">Action</th><th scope="col">Summary</th><th scope="col">Outcome</th></tr></thead>
        <tbody>
        {{#entries}}<tr><td>{{sequence}}</td><td>{{time}}</td><td>{{pid}}</td><td>{{owner}}</td><td>{{action}}</td><td>{{summary}}</td><td>{{outcome}}</td></tr>{{/entries}}
        </tbody>
        </table>
        </div>
        """,
        "tools": """
        {{#tools}}
        <section class="card" aria-labelledby="tool-{{name}}">
        <h2 id="tool-{{name}}">{{name}}</h2>
        <p>{{description}}</p>
        <dl><dt>Effect</dt><dd>{{effect}}{{#byPolicy}} (set by the policy){{/byPolicy}}</dd>
        <dt>Groups needed</dt><dd>{{groups}}</dd>
        <dt>Its output counts as</dt><dd>{{source}}</dd>
        <dt>What it does</dt><dd>{{mcp}}</dd></dl>
        </section>
        {{/tools}}
        {{^tools}}<p>No tools are installed.</p>{{/tools}}
        """,
        "message": """
        <p role="alert">{{message}}</p>
        <p><a href="{{back}}">Back</a></p>
        """,
    ]
}
