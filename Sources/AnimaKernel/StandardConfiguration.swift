import AnimaMemory
import AnimaProcessor
import AnimaSecurity

extension Kernel.Configuration {
    /// How Anima runs on a data directory, for the daemon and the command line alike:
    /// every syscall goes to the hash-chained `audit.log` there (and to `alsoAuditTo`),
    /// content sealed with the directory's `audit.key`,
    /// tool calls pass the security monitor with the directory's `policy.json` (or the
    /// strict default), and when `principals.json` exists every syscall is checked
    /// against the owner's current groups in it.
    public static func standard(
        processor: (any LanguageModel)?, tools: [any SystemTool] = [], memory: MemorySystem? = nil, dataDirectory: String,
        alsoAuditTo extra: [any AuditTrail] = []
    ) throws -> Kernel.Configuration {
        let chain = try AuditLog(dataDirectory: dataDirectory)
        let authorizer = try SecurityAuthorizer.load(dataDirectory: dataDirectory, tools: tools)
        // Sandboxed tools get the Linux groups the user store maps the owner's groups onto.
        let tools = tools.map { tool -> any SystemTool in
            guard var adapter = tool as? ToolAdapter else { return tool }
            adapter.principals = authorizer?.principals
            return adapter
        }
        var configuration = Kernel.Configuration(
            processor: processor, tools: tools, memory: memory,
            authorizer: authorizer,
            audit: extra.isEmpty ? chain : TeeAuditTrail(extra + [chain]),
            security: try monitor(dataDirectory: dataDirectory, processor: processor))
        configuration.auditDigest = try AuditDigest(dataDirectory: dataDirectory)
        return configuration
    }

    /// The directory's security monitor; when its policy puts the guard model to work
    /// (`"guards": {"model": {"on": [...]}}`), the processor is the guard model. What it
    /// judges may be private (files, memory), so behind a router it stays on this machine.
    /// Without a processor there is no guard model: such a kernel generates nothing, and
    /// the pattern scanners still screen what its programs' tools carry.
    static func monitor(dataDirectory: String, processor: (any LanguageModel)?) throws -> SecurityMonitor {
        var monitor = try SecurityMonitor(dataDirectory: dataDirectory)
        let guards = monitor.guards?.policy
        monitor.guards?.classifier = guardModel(for: guards, processor: processor)
        return monitor
    }

    /// The guard model a guard policy puts to work, on `processor` (kept on this machine
    /// behind a router); nil when the policy asks for none or there is no processor.
    static func guardModel(for policy: GuardPolicy?, processor: (any LanguageModel)?) -> (any GuardClassifier)? {
        guard let processor, policy?.modelDirections.isEmpty == false else { return nil }
        let judge: any LanguageModel = processor.routing != nil ? PrivateProcessor(base: processor) : processor
        return ModelGuard(model: judge)
    }
}
