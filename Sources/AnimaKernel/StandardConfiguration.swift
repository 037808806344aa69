import AnimaMemory
import AnimaProcessor
import AnimaSecurity

extension Kernel.Configuration {
    /// How Anima runs on a data directory, for the daemon and the command line alike:
    /// every syscall goes to the hash-chained `audit.log` there (and to `alsoAuditTo`),
    /// tool calls pass the security monitor with the directory's `policy.json` (or the
    /// strict default), and when `principals.json` exists every syscall is checked
    /// against the owner's current groups in it.
    public static func standard(
        processor: any LanguageModel, tools: [any SystemTool] = [], memory: MemorySystem? = nil, dataDirectory: String,
        alsoAuditTo extra: [any AuditTrail] = []
    ) throws -> Kernel.Configuration {
        let chain = try HashChainAuditTrail(dataDirectory: dataDirectory)
        return Kernel.Configuration(
            processor: processor, tools: tools, memory: memory,
            authorizer: try SecurityAuthorizer.load(dataDirectory: dataDirectory, tools: tools),
            audit: extra.isEmpty ? chain : TeeAuditTrail(extra + [chain]),
            security: try SecurityMonitor(dataDirectory: dataDirectory))
    }
}
