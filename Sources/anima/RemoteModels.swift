import AnimaCommandSupport
import AnimaCore
import AnimaProcessor
import AnimaProviders
import Foundation

/// The models of the providers that `anima setup` configured, for `anima models`: where
/// each runs, its context length and its price. Read from the configuration only; no
/// network, no key.
enum RemoteModels {
    struct Row {
        var json: JSONValue
        var text: String
    }

    static func list() -> [Row] {
        guard let configuration = try? ProcessorConfiguration.load(from: AnimaPaths.processors) else {
            Terminal.error("warning: \(AnimaPaths.processors.path) cannot be read; run `anima setup`\n")
            return []
        }
        var rows: [Row] = []
        for endpoint in configuration.providers {
            let used = configuration.mode != .local || endpoint.resolvedLocation == .local
            for model in endpoint.models {
                let capabilities = model.capabilities(kind: endpoint.kind)
                let price = model.resolvedPrice(kind: endpoint.kind)
                var object = JSONObject()
                object["name"] = .string("\(endpoint.id)/\(model.name)")
                object["provider"] = .string(endpoint.id)
                object["kind"] = .string(endpoint.kind.rawValue)
                object["location"] = .string(endpoint.resolvedLocation.rawValue)
                object["context_length"] = .number(Double(capabilities.contextLength))
                object["tools"] = .bool(capabilities.tools)
                object["vision"] = .bool(capabilities.vision)
                if let price {
                    object["price_per_million"] = ["input": .number(price.inputPerMillion), "output": .number(price.outputPerMillion)]
                }
                object["in_use"] = .bool(used)
                var lines = ["\(endpoint.id)/\(model.name)"]
                func row(_ k: String, _ v: String) { lines.append("  " + k.padding(toLength: 15, withPad: " ", startingAt: 0) + v) }
                row("provider", "\(endpoint.kind) at \(endpoint.baseURL) (\(endpoint.resolvedLocation))")
                row("context", "\(capabilities.contextLength) tokens")
                row("price", price?.description ?? "unknown; set it with `anima setup --price`")
                if !used { row("in use", "no: the processor is in local mode") }
                rows.append(Row(json: .object(object), text: lines.joined(separator: "\n")))
            }
        }
        return rows
    }
}
