import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaStore
import Foundation

/// An installed store package made ready to run: verified just before use, an agent's
/// prompt and tools, and the groups it was granted (never more than its owner holds).
struct InstalledAgent {
    var name: String
    var systemPrompt: String?
    var tools: [String]?
    /// Nil for a model package: the agent runs as it would with `--model`.
    var groups: Set<String>?

    /// Verifies `name` and, for a model package (or an agent that prefers an installed
    /// model), points `model` at the verified weights.
    static func load(_ name: String, model: inout String?) throws -> InstalledAgent {
        let store = try InstalledStore.at(URL(fileURLWithPath: AnimaDirectories.data()))
        let (record, verified) = try store.verifyForLoad(name)
        let m = verified.manifest
        var agent = InstalledAgent(name: m.name, systemPrompt: nil, tools: nil, groups: nil)
        switch m.kind {
        case .model:
            if model == nil, let file = m.model?.file { model = verified.directory.appendingPathComponent(file).path }
        case .agent:
            agent.systemPrompt = m.agent?.systemPrompt
            agent.groups = record.processGroups
            agent.tools = m.agent?.tools
            if model == nil, let preferred = m.agent?.model, try store.installed(preferred) != nil {
                let (_, weights) = try store.verifyForLoad(preferred)
                if let file = weights.manifest.model?.file { model = weights.directory.appendingPathComponent(file).path }
            }
        default:
            throw StoreError.manifest(
                field: "kind", problem: "\(name) is a \(m.kind.rawValue) package; `anima run --package` runs agents and models")
        }
        return agent
    }

    /// Gives `spec` the package's prompt (unless one was given), its tools among those
    /// loaded, and exactly its granted groups.
    func apply(to spec: inout AgentSpec, owner: Principal) {
        if spec.systemPrompt == nil { spec.systemPrompt = systemPrompt }
        if let tools { spec.tools = spec.tools.filter { tools.contains($0) } }
        if let groups { spec.groups = owner.isRoot ? groups : groups.intersection(owner.groups) }
    }
}
