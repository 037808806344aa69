import AnimaProcessor
import CLlama

/// A device llama.cpp can compute on, as its device API reports it: the CPU, and each GPU
/// of the backends built beside the library (CUDA, Vulkan, ...) whose driver answers.
public struct ComputeDevice: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case cpu, gpu
        case integratedGPU = "integrated GPU"
        case accelerator
    }

    public var name: String
    public var description: String
    public var kind: Kind
    public var freeBytes: Int
    public var totalBytes: Int

    public init(name: String, description: String, kind: Kind, freeBytes: Int, totalBytes: Int) {
        self.name = name
        self.description = description
        self.kind = kind
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
    }

    /// Every device of the loaded backends, in llama.cpp's order.
    public static func all() throws(ProcessorError) -> [ComputeDevice] {
        try LlamaRuntime.initialize()
        return (0..<ggml_backend_dev_count()).compactMap { i in
            guard let device = ggml_backend_dev_get(i) else { return nil }
            var free = 0
            var total = 0
            ggml_backend_dev_memory(device, &free, &total)
            let kind: Kind? =
                switch ggml_backend_dev_type(device) {
                case GGML_BACKEND_DEVICE_TYPE_CPU: .cpu
                case GGML_BACKEND_DEVICE_TYPE_GPU: .gpu
                case GGML_BACKEND_DEVICE_TYPE_IGPU: .integratedGPU
                case GGML_BACKEND_DEVICE_TYPE_ACCEL: .accelerator
                default: nil  // a meta device (several others behind one name)
                }
            guard let kind else { return nil }
            return ComputeDevice(
                name: ggml_backend_dev_name(device).map { String(cString: $0) } ?? "?",
                description: ggml_backend_dev_description(device).map { String(cString: $0) } ?? "",
                kind: kind, freeBytes: free, totalBytes: total)
        }
    }

    /// The devices a model's layers can go to: discrete GPUs first, else integrated ones.
    public static func offloadTargets(_ devices: [ComputeDevice]) -> [ComputeDevice] {
        let gpus = devices.filter { $0.kind == .gpu }
        return gpus.isEmpty ? devices.filter { $0.kind == .integratedGPU } : gpus
    }

    /// "CUDA0 (NVIDIA H200): 139.2 of 139.8 GiB free"; the CPU's memory is the machine's.
    public var summary: String {
        func gib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_073_741_824) }
        let what = description.isEmpty || description == name ? name : "\(name) (\(description))"
        guard totalBytes > 0 else { return what }
        return kind == .cpu ? "\(what), \(gib(totalBytes)) GiB memory" : "\(what): \(gib(freeBytes)) of \(gib(totalBytes)) GiB free"
    }
}

/// How many of a model's layers go to the GPUs: as many as fit in their free memory with
/// their share of the KV cache (every slot's), after a reserve for llama.cpp's compute
/// buffers. The rest, and everything on a machine without a GPU, stays on the CPU.
public struct OffloadPlan: Sendable, Hashable {
    /// Layers for the GPUs (llama.cpp's `n_gpu_layers`): 0 none; `layerCount + 1` all of
    /// them and the output layer.
    public var gpuLayers: Int
    public var layerCount: Int
    public var devices: [String]

    /// Kept free on the GPUs for compute buffers and the driver.
    public static let reserveBytes = 768 << 20

    public static let none = OffloadPlan(gpuLayers: 0, layerCount: 0, devices: [])

    public init(gpuLayers: Int, layerCount: Int, devices: [String]) {
        self.gpuLayers = gpuLayers
        self.layerCount = layerCount
        self.devices = devices
    }

    /// - Parameters:
    ///   - weightBytes: the model's tensors (about its file size).
    ///   - layerCount: its repeating blocks; the embeddings and output count as one more.
    ///   - kvBytesPerLayer: one block's KV cache for every slot's context.
    ///   - targets: the GPUs (`ComputeDevice.offloadTargets`).
    ///   - requested: the user's `n_gpu_layers` (nil: as many as fit; 0: none); never more than fit.
    public static func plan(
        weightBytes: Int, layerCount: Int, kvBytesPerLayer: Int, targets: [ComputeDevice], requested: Int? = nil
    ) -> OffloadPlan {
        // A file may claim any block count; no model has a hundred thousand layers.
        guard (1...100_000).contains(layerCount), !targets.isEmpty, requested != 0 else { return .none }
        let perLayer = max(1, weightBytes / (layerCount + 1)).addingReportingOverflow(max(0, kvBytesPerLayer))
        guard !perLayer.overflow else { return .none }
        let free = targets.reduce(0) { total, device in
            let (sum, overflow) = total.addingReportingOverflow(device.freeBytes > reserveBytes ? device.freeBytes - reserveBytes : 0)
            return overflow ? .max : sum
        }
        let fit = min(layerCount + 1, free / perLayer.partialValue)
        let layers = min(fit, max(0, requested ?? fit))
        return layers == 0 ? .none : OffloadPlan(gpuLayers: layers, layerCount: layerCount, devices: targets.map(\.name))
    }

    /// "28 of 28 layers and the output on CUDA0", or "all layers on the CPU".
    public var summary: String {
        guard gpuLayers > 0 else { return "all layers on the CPU" }
        let where_ = devices.joined(separator: ", ")
        if gpuLayers > layerCount { return "all \(layerCount) layers and the output on \(where_)" }
        return "\(gpuLayers) of \(layerCount) layers on \(where_), the rest on the CPU"
    }
}
