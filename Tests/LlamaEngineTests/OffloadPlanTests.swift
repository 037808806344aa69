import AnimaLlama
import Testing

/// Where a model's layers go: llama.cpp's device list, and as many layers on the GPUs as
/// fit in their free memory with their share of the KV cache.
@Suite("GPU offload")
struct OffloadPlanTests {
    static func gpu(free: Int, name: String = "CUDA0") -> ComputeDevice {
        ComputeDevice(name: name, description: "a test GPU", kind: .gpu, freeBytes: free, totalBytes: max(free, 0))
    }

    static let gib = 1 << 30

    @Test func theCPUIsAlwaysADeviceAndNeverATarget() throws {
        let devices = try ComputeDevice.all()
        let cpu = try #require(devices.first { $0.kind == .cpu })
        #expect(!cpu.name.isEmpty)
        #expect(cpu.totalBytes >= 0 && cpu.freeBytes >= 0)
        #expect(!ComputeDevice.offloadTargets(devices).contains { $0.kind == .cpu })
    }

    @Test func withoutAGPUEveryLayerStaysOnTheCPU() {
        let plan = OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 1 << 20, targets: [])
        #expect(plan == .none)
        #expect(plan.summary == "all layers on the CPU")
    }

    @Test func aLargeGPUTakesEveryLayerAndTheOutput() {
        let plan = OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 8 << 20, targets: [Self.gpu(free: 80 * Self.gib)])
        #expect(plan.gpuLayers == 29)
        #expect(plan.summary == "all 28 layers and the output on CUDA0")
    }

    @Test func aSmallGPUTakesWhatFitsWithItsKVCache() {
        // 29 pieces of 64 MiB weights + 64 MiB KV each: 128 MiB a layer; 1 GiB free less the reserve.
        let free = 768 << 20 + 1024 << 20
        let plan = OffloadPlan.plan(weightBytes: 29 * 64 << 20, layerCount: 28, kvBytesPerLayer: 64 << 20, targets: [Self.gpu(free: free)])
        #expect(plan.gpuLayers == 8)
        #expect(plan.summary == "8 of 28 layers on CUDA0, the rest on the CPU")
    }

    @Test func theUsersNumberIsACeilingAndZeroMeansNone() {
        let big = [Self.gpu(free: 80 * Self.gib)]
        #expect(OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 0, targets: big, requested: 10).gpuLayers == 10)
        #expect(OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 0, targets: big, requested: 0) == .none)
        #expect(OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 0, targets: big, requested: 1000).gpuLayers == 29)
    }

    @Test func extremesNeverTrapOrOffloadWhatCannotFit() {
        let tiny = [Self.gpu(free: 100 << 20)]  // less than the reserve
        #expect(OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 0, targets: tiny) == .none)
        let huge = [Self.gpu(free: .max)]
        #expect(OffloadPlan.plan(weightBytes: .max, layerCount: 28, kvBytesPerLayer: .max, targets: huge) == .none)
        #expect(OffloadPlan.plan(weightBytes: Self.gib, layerCount: 0, kvBytesPerLayer: 0, targets: huge) == .none)
        #expect(OffloadPlan.plan(weightBytes: -1, layerCount: 28, kvBytesPerLayer: -5, targets: [Self.gpu(free: -1)]) == .none)
        #expect(OffloadPlan.plan(weightBytes: 0, layerCount: .max, kvBytesPerLayer: 0, targets: huge) == .none)
        #expect(OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 0, targets: huge + huge).gpuLayers == 29)
        #expect(OffloadPlan.plan(weightBytes: Self.gib, layerCount: 28, kvBytesPerLayer: 0, targets: [Self.gpu(free: .min)]) == .none)
    }

    @Test func integratedGPUsAreUsedOnlyWithoutADiscreteOne() {
        let igpu = ComputeDevice(name: "Vulkan1", description: "", kind: .integratedGPU, freeBytes: Self.gib, totalBytes: Self.gib)
        #expect(ComputeDevice.offloadTargets([igpu]).map(\.name) == ["Vulkan1"])
        #expect(ComputeDevice.offloadTargets([igpu, Self.gpu(free: Self.gib)]).map(\.name) == ["CUDA0"])
    }

    @Test func theEngineReportsWhereItsLayersAre() async throws {
        let engine = try await TestModel.engine()
        let onAGPU = ComputeDevice.offloadTargets(try ComputeDevice.all()).isEmpty == false
        #expect(onAGPU || engine.offload == .none)
    }
}
