import Foundation
import Testing

@testable import AnimaLlama
@testable import AnimaProcessor

/// Builds small GGUF files byte by byte, to check the header reader on good and bad input.
struct GGUFWriter {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

    /// A valid file with one F32 tensor of `elements` values, optionally cut short.
    static func file(elements: UInt64 = 8, dropTail: Int = 0, version: UInt32 = 3) -> Data {
        var w = GGUFWriter()
        w.bytes += Array("GGUF".utf8)
        w.u32(version)
        w.u64(1)  // tensors
        w.u64(3)  // metadata entries
        w.string("general.architecture"); w.u32(8); w.string("llama")
        w.string("llama.context_length"); w.u32(4); w.u32(2048)
        w.string("tokenizer.chat_template"); w.u32(8); w.string("{{ chatml }}")
        w.string("weight"); w.u32(1); w.u64(elements); w.u32(0); w.u64(0)
        while w.bytes.count % 32 != 0 { w.bytes.append(0) }
        w.bytes += [UInt8](repeating: 0, count: Int(elements) * 4)
        return Data(w.bytes.dropLast(dropTail))
    }
}

@Suite("GGUF header reader")
struct GGUFFileTests {
    func write(_ data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "gguf-\(UUID().uuidString).gguf"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsMetadataAndTensors() throws {
        let path = try write(GGUFWriter.file())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try GGUFFile(path: path)
        #expect(file.architecture == "llama")
        #expect(file.contextLength == 2048)
        #expect(file.chatTemplate == "{{ chatml }}")
        #expect(file.parameterCount == 8)
        #expect(file.tensors.first?.typeName == "f32")
    }

    @Test(arguments: [
        (GGUFWriter.file(dropTail: 4), "truncated"),
        (GGUFWriter.file(version: 9), "version 9"),
        (Data("GGML".utf8) + GGUFWriter.file().dropFirst(4), "not a GGUF file"),
        (GGUFWriter.file().prefix(30), "truncated"),
        (Data(), "not a GGUF file"),
    ])
    func refusesBrokenFiles(data: Data, reason: String) throws {
        let path = try write(data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ProcessorError.self) { try GGUFFile(path: path) }
        guard case .invalidModelFile(_, let why)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(why.contains(reason), "\(why)")
    }

    @Test func hugeClaimedCountsAreRefusedWithoutAllocating() throws {
        var w = GGUFWriter()
        w.bytes += Array("GGUF".utf8)
        w.u32(3); w.u64(.max); w.u64(.max)
        let path = try write(Data(w.bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ProcessorError.self) { try GGUFFile(path: path) }
    }

    @Test func aDirectoryIsNotAModel() {
        let error = #expect(throws: ProcessorError.self) { try GGUFFile(path: NSTemporaryDirectory()) }
        #expect(error.map { "\($0)" }?.contains("directory") == true)
    }
}
