extension ConsolePages {
    /// Chat, the context window, processors and metrics. `{{{...Chart}}}` and `{{{bar}}}`
    /// are SVG that `SVGChart` drew, escaping every label itself; all else is escaped here.
    /// Sections test booleans (`hasModel`), never strings or array indices.
    static let insightTemplates: [String: String] = [
        "chat": """
        <h2>Conversations</h2>
        <ul>{{#conversations}}<li><a href="/web/chat/{{pid}}">{{pid}} {{name}}</a> <small>({{state}})</small></li>{{/conversations}}</ul>
        {{^conversations}}<p>No conversations started here yet.</p>{{/conversations}}
        <h2>New conversation</h2>
        <form method="post" action="/web/chat">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="chat-name">Agent name</label> <input id="chat-name" name="name" maxlength="64" placeholder="chat"></p>
        <p><label for="chat-memory">Persistent memory of agent (optional)</label> <input id="chat-memory" name="memory" maxlength="64"></p>
        {{#hasTools}}<fieldset><legend>Tools it may call</legend>
        {{#tools}}<label><input type="checkbox" name="tool" value="{{name}}"> {{name}}</label> {{/tools}}
        </fieldset>{{/hasTools}}
        <p><label for="chat-text">Message</label></p>
        <p><textarea id="chat-text" name="text" rows="4" cols="60" required></textarea></p>
        <button type="submit">Start</button>
        </form>
        """,
        "conversation": """
        <p><a href="/web/chat/{{pid}}">Refresh</a>
        <span id="live" data-live="/web/chat/{{pid}}/live" data-partial="/web/chat/{{pid}}?partial=transcript" data-target="transcript"
        role="status" aria-live="polite"></span></p>
        {{> transcript}}
        {{#alive}}
        <form method="post" action="/web/chat/{{pid}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="turn">Your next message</label></p>
        <p><textarea id="turn" name="text" rows="3" cols="60" required></textarea></p>
        <button type="submit">Send</button>
        </form>
        {{/alive}}
        """,
        "transcript": """
        <div id="transcript">
        <p>Agent {{pid}} ({{name}}), {{state}}.</p>
        <ol class="transcript">
        {{#entries}}<li class="{{kind}}">
        {{#user}}<strong>You:</strong> <span class="text">{{text}}</span>{{/user}}
        {{#assistant}}<strong>Agent:</strong> <span class="text">{{text}}</span>{{/assistant}}
        {{#toolcall}}<strong>Tool call {{detail}}</strong> <code>{{text}}</code>{{/toolcall}}
        {{#toolresult}}<strong>Allowed by the policy; result</strong> <small>{{detail}}</small> <code>{{text}}</code>{{/toolresult}}
        {{#denied}}<strong class="bad">Denied by the policy: {{detail}}</strong> {{text}}{{/denied}}
        {{#approval}}<strong>Waits for your approval:</strong> {{detail}}. {{text}} <a href="/web/approvals">Answer it</a>{{/approval}}
        {{#settled}}<strong>Approval:</strong> {{text}}{{/settled}}
        {{#exit}}<strong>Exited:</strong> {{text}}{{/exit}}
        </li>{{/entries}}
        </ol>
        </div>
        """,
        "context": """
        <form method="get" action="/web/context">
        <label for="agent-pick">Agent</label>
        <select id="agent-pick" name="agent">{{#agents}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/agents}}</select>
        <button type="submit">Show</button>
        </form>
        {{^agents}}<p>None of your agents has persistent memory yet.</p>{{/agents}}
        {{#window}}
        <h2>{{agent}}</h2>
        {{#hasBar}}<figure>{{{bar}}}<figcaption>Budget: {{budget}} of {{contextLength}} tokens for resident content;
        {{messageTokens}} in messages, {{blockLimits}} kept for core memory.
        <span class="key messages">messages</span> <span class="key blocks">core memory</span> <span class="key summary">summary</span>
        <span class="key free">free</span> <span class="key pages">pages</span> <span class="key answer">answer</span></figcaption></figure>{{/hasBar}}
        {{^hasBar}}<p>{{messageTokens}} tokens in resident messages; no model is loaded to give the budget.</p>{{/hasBar}}
        <p>{{stored}} message(s) stored, {{evicted}} evicted from the window (in recall storage); {{passages}} archival passage(s).</p>
        <h3>Core memory</h3>
        <dl>{{#blocks}}<dt>{{label}} <small>(limit {{limit}} tokens)</small></dt><dd>{{value}}{{#empty}}(empty){{/empty}}</dd>{{/blocks}}</dl>
        <h3>Summary of evicted messages</h3><p>{{summary}}{{^hasSummary}}(nothing evicted yet){{/hasSummary}}</p>
        <div class="scroll" tabindex="0" role="region" aria-label="Resident messages">
        <table><caption>Resident messages</caption>
        <thead><tr><th scope="col">Recall ID</th><th scope="col">Role</th><th scope="col">Tokens</th><th scope="col">Pinned</th><th scope="col">Text</th></tr></thead>
        <tbody>{{#resident}}<tr><td>{{id}}</td><td>{{role}}</td><td>{{tokens}}{{#truncated}} (truncated){{/truncated}}</td>
        <td>{{#pinned}}yes{{/pinned}}</td><td>{{text}}</td></tr>{{/resident}}</tbody></table>
        </div>
        <h3>Paged in</h3>
        {{^pageIns}}<p>Nothing paged in yet.</p>{{/pageIns}}
        {{#pageIns}}<p>{{at}}</p><ul>{{#decisions}}<li>{{source}} {{id}}: {{outcome}} (score {{score}}, {{tokens}} tokens)</li>{{/decisions}}</ul>{{/pageIns}}
        {{/window}}
        """,
        "processors": """
        {{^hasModel}}<p>This daemon has no model loaded.</p>{{/hasModel}}
        {{#hasModel}}<p>Processor <strong>{{model}}</strong>, {{contextLength}}-token context{{#routed}}, routing in {{mode}} mode{{/routed}}.</p>{{/hasModel}}
        {{#routed}}
        <div class="scroll" tabindex="0" role="region" aria-label="Candidates">
        <table><caption>Models the router may choose</caption>
        <thead><tr><th scope="col">Model</th><th scope="col">Where</th><th scope="col">Context</th><th scope="col">Price</th><th scope="col">Load</th></tr></thead>
        <tbody>{{#candidates}}<tr><td>{{id}}</td><td>{{location}}</td><td>{{context}}</td><td>{{price}}</td><td>{{load}}</td></tr>{{/candidates}}</tbody></table>
        </div>
        <h2>Which model served what</h2><figure>{{{servedChart}}}</figure>
        <h2>Cost</h2><figure>{{{costChart}}}</figure>
        <h2>Latency</h2><figure>{{{latencyChart}}}</figure>
        <div class="scroll" tabindex="0" role="region" aria-label="Decisions">
        <table><caption>The router's latest decisions</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Task</th><th scope="col">Chosen</th><th scope="col">Served by</th><th scope="col">Tokens</th>
        <th scope="col">Cost ($)</th><th scope="col">Latency</th><th scope="col">Why</th></tr></thead>
        <tbody>{{#decisions}}<tr><td>{{id}}</td><td>{{taskClass}}</td><td>{{chosen}}</td><td>{{servedBy}}</td><td>{{tokens}}</td><td>{{cost}}</td>
        <td>{{latency}}</td><td>{{reason}}</td></tr>{{/decisions}}</tbody></table>
        </div>
        {{/routed}}
        {{#hasModel}}{{^routed}}<p>One model serves every request: there is no router to show.</p>{{/routed}}{{/hasModel}}
        """,
        "metrics": """
        <h2>Processes by state</h2><figure>{{{stateChart}}}</figure>
        <h2>Tokens</h2><figure>{{{tokenChart}}}</figure>
        <h2>Tool calls</h2><figure>{{{callChart}}}</figure>
        <div class="scroll" tabindex="0" role="region" aria-label="Usage by process">
        <table><caption>Usage of the busiest processes</caption>
        <thead><tr><th scope="col">PID</th><th scope="col">Name</th><th scope="col">Prompt tokens</th><th scope="col">Generated</th>
        <th scope="col">Tool calls</th><th scope="col">Syscalls</th></tr></thead>
        <tbody>{{#rows}}<tr><td>{{pid}}</td><td>{{name}}</td><td>{{prompt}}</td><td>{{generated}}</td><td>{{calls}}</td><td>{{syscalls}}</td></tr>{{/rows}}</tbody>
        </table>
        </div>
        {{#hasDaemon}}<h2>The daemon (Prometheus)</h2>
        <p><span id="live" data-live="/web/metrics/live" data-partial="/web/metrics?partial=daemon" data-target="daemon-metrics"
        role="status" aria-live="polite"></span></p>
        {{> daemonMetrics}}{{/hasDaemon}}
        {{#daemonRefused}}<p>The daemon's own metrics are for root and the logs group.</p>{{/daemonRefused}}
        """,
        "daemonMetrics": """
        <section id="daemon-metrics">
        <p>What <code>GET /metrics</code> answers, sampled while this page is open ({{samples}} samples kept, at most 300):
        counters as a rate per second, histograms as the mean observed between samples, gauges as they are.</p>
        {{#lines}}<figure>{{{chart}}}<figcaption>{{title}}</figcaption></figure>{{/lines}}
        <div class="scroll" tabindex="0" role="region" aria-label="Every series">
        <table><caption>Every series of the latest sample (histogram buckets: GET /metrics)</caption>
        <thead><tr><th scope="col">Metric</th><th scope="col">Labels</th><th scope="col">Value</th></tr></thead>
        <tbody>{{#series}}<tr><td>{{name}}</td><td>{{labels}}</td><td>{{value}}</td></tr>{{/series}}</tbody>
        </table>
        </div>
        </section>
        """,
    ]
}
