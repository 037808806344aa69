import AnimaCore
import AnimaLlama
import AnimaProcessor

extension RouteCandidate {
    /// The local llama.cpp engine: free, on this machine, its load read from its statistics.
    package static func local(_ engine: LlamaEngine, id: String? = nil, tools: Bool = true) -> RouteCandidate {
        RouteCandidate(
            id: id ?? "local/\(engine.info.name)", processor: engine, location: .local,
            capabilities: ModelCapabilities(contextLength: engine.info.contextLength, tools: tools, vision: false, structuredOutput: true),
            price: .free, load: { [engine] in ProcessorLoad(engine.statistics) })
    }
}

extension ProcessorLoad {
    package init(_ statistics: EngineStatistics) {
        self.init(running: statistics.runningSequences, waiting: statistics.waitingRequests, slots: statistics.slots)
    }
}
