import AnimaKernel
import AnimaLlama
import AnimaProcessor
import Foundation

extension ResidentModels {
    /// Several GGUF chat models behind one processor, each a `LlamaEngine` loaded when a
    /// request first names it and shut down when it is the least recently used and another
    /// needs its place. The first is the default; each is known by its file name without
    /// `.gguf` (what `/v1/models` lists), its size being its file's.
    package static func engines(
        paths: [String], maxModels: Int, memoryBudget: Int?, context: Int?, slots: Int, scheduler: Scheduler
    ) throws -> ResidentModels {
        let models = try paths.map { path -> (Model, String) in
            let file = try GGUFFile(path: path)
            let trained = Int(file.contextLength ?? 4096)
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            return (
                Model(
                    name: name, bytes: Int(file.fileSize), contextLength: context ?? min(max(trained, 16), 4096),
                    toolCallSyntax: file.chatTemplate.map(ToolCallSyntax.init(template:))),
                path
            )
        }
        let paths = Dictionary(models.map { ($0.0.name, $0.1) }, uniquingKeysWith: { a, _ in a })
        return try ResidentModels(
            models: models.map(\.0), maxModels: maxModels, memoryBudget: memoryBudget,
            load: { model in
                try await ModelOptions.loadEngine(path: paths[model.name]!, context: context, slots: slots, scheduler: scheduler)
            },
            unload: { ($0 as? LlamaEngine)?.shutdown() })
    }
}
