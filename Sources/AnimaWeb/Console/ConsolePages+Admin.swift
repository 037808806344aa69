extension ConsolePages {
    /// The policies and tokens views. Like every template, each `{{value}}` is escaped.
    static let adminTemplates: [String: String] = [
        "policies": """
        {{#error}}<p role="alert" class="bad">{{text}}</p>{{/error}}
        <p>The data-flow policy in <code>{{path}}</code>{{^exists}} (no file yet: the strict default applies){{/exists}}.</p>
        {{#parsed}}
        <p>By default arguments may come from <strong>{{defaultAllow}}</strong>; a violation is <strong>{{defaultAction}}</strong>.</p>
        <div class="scroll" tabindex="0" role="region" aria-label="Tool rules">
        <table>
        <caption>Rules by tool</caption>
        <thead><tr><th scope="col">Tool</th><th scope="col">Effect</th><th scope="col">Allowed sources</th>
        <th scope="col">Arguments</th><th scope="col">On violation</th><th scope="col">Trusted context only</th></tr></thead>
        <tbody>
        {{#rules}}<tr><td>{{tool}}</td><td>{{effect}}</td><td>{{allow}}</td><td>{{arguments}}</td><td>{{onViolation}}</td><td>{{trustedOnly}}</td></tr>{{/rules}}
        </tbody>
        </table>
        </div>
        {{/parsed}}
        {{#root}}
        <form method="post" action="/web/policies">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="policy">Policy document (JSON)</label>
        <textarea id="policy" name="policy" rows="20" cols="80" spellcheck="false">{{text}}</textarea>
        <p><button type="submit">Check and save</button> The document is checked first; an invalid one is not saved.</p>
        </form>
        {{/root}}
        {{^root}}
        <h2>Document</h2>
        <pre class="scroll" tabindex="0" aria-label="Policy document">{{text}}</pre>
        <p>Only root may change the policy.</p>
        {{/root}}
        """,
        "tokens": """
        <p>API tokens act as a user with groups, limited to scopes. Only their hashes are kept.</p>
        <div class="scroll" tabindex="0" role="region" aria-label="Tokens">
        <table>
        <caption>Tokens</caption>
        <thead><tr><th scope="col">ID</th><th scope="col">Name</th><th scope="col">User</th><th scope="col">Scopes</th>
        <th scope="col">Created</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col">Revoke</th></tr></thead>
        <tbody>
        {{#tokens}}<tr><td>{{id}}</td><td>{{name}}</td><td>{{user}}</td><td>{{scopes}}</td><td>{{created}}</td><td>{{expires}}</td><td>{{state}}</td>
        <td>{{#active}}<form method="post" action="/web/tokens/{{id}}/revoke" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Revoke {{id}}</button></form>{{/active}}</td></tr>{{/tokens}}
        </tbody>
        </table>
        </div>
        {{^tokens}}<p>No tokens.</p>{{/tokens}}
        <h2>New token</h2>
        <form method="post" action="/web/tokens">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="token-name">Name</label> <input id="token-name" name="name" required maxlength="64"></p>
        <fieldset><legend>Scopes</legend>
        {{#scopes}}<label><input type="checkbox" name="scope" value="{{name}}"> {{name}}</label> {{/scopes}}
        </fieldset>
        <p><label for="expires">Expires after</label> <input id="expires" name="expires" value="90d" size="8">
        <small>30m, 12h, 90d or never</small></p>
        <p>It acts as {{user}} with the groups {{groups}}.</p>
        <button type="submit">Create token</button>
        </form>
        """,
        "token-created": """
        <p role="status">Token {{id}} was created with the scopes {{scopes}}; it expires {{expires}}.</p>
        <p><label for="secret">Its secret, shown this once (it is not stored):</label></p>
        <p><input id="secret" readonly size="70" value="{{secret}}"></p>
        <p><a href="/web/tokens">Back to tokens</a></p>
        """,
    ]
}
