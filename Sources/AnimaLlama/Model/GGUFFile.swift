import AnimaProcessor
import CLlama
import Foundation

/// The header of a GGUF model file, read and checked without loading any weights.
///
/// Every length and offset is bounds-checked against the file, so a truncated or
/// random-bytes file yields a precise error instead of reaching llama.cpp. The check also
/// proves that each tensor's data lies inside the file: a download cut short is caught
/// here.
public struct GGUFFile: Sendable {
    public enum Value: Sendable, Hashable, CustomStringConvertible {
        case int(Int64)
        case uint(UInt64)
        case float(Double)
        case bool(Bool)
        case string(String)
        /// Arrays are summarised: element type name and count, plus the first few strings.
        case array(elementType: String, count: UInt64, preview: [String])

        public var description: String {
            switch self {
            case .int(let v): "\(v)"
            case .uint(let v): "\(v)"
            case .float(let v): "\(v)"
            case .bool(let v): "\(v)"
            case .string(let v): v
            case .array(let t, let n, _): "[\(n) × \(t)]"
            }
        }
    }

    public struct Tensor: Sendable, Hashable {
        public var name: String
        public var shape: [UInt64]
        public var typeName: String
        public var byteCount: UInt64
    }

    public let path: String
    public let version: UInt32
    public let fileSize: UInt64
    public let metadata: [(key: String, value: Value)]
    public let tensors: [Tensor]

    public subscript(key: String) -> Value? { metadata.first { $0.key == key }?.value }

    public func string(_ key: String) -> String? {
        if case .string(let s)? = self[key] { return s }
        return nil
    }

    public func integer(_ key: String) -> Int64? {
        switch self[key] {
        case .int(let v)?: v
        case .uint(let v)?: Int64(clamping: v)
        default: nil
        }
    }

    public var architecture: String? { string("general.architecture") }
    public var name: String? { string("general.name") }
    public var chatTemplate: String? { string("tokenizer.chat_template") }
    public var contextLength: Int64? { architecture.flatMap { integer("\($0).context_length") } }
    /// An encoder such as BERT (non-causal attention): it turns text into vectors and has
    /// no head to predict a next token, so it cannot generate.
    public var isEmbeddingOnly: Bool { architecture.map { self["\($0).attention.causal"] == .bool(false) } ?? false }
    /// The repeating blocks (transformer layers).
    public var layerCount: Int { architecture.flatMap { integer("\($0).block_count") }.map { Int(clamping: $0) } ?? 0 }
    /// One token's keys and values in one layer's cache, in bytes (f16).
    public var kvBytesPerTokenPerLayer: Int {
        guard let arch = architecture, let width = integer("\(arch).embedding_length"), let heads = integer("\(arch).attention.head_count"),
            heads > 0
        else { return 0 }
        let kvHeads = integer("\(arch).attention.head_count_kv") ?? heads
        let key = integer("\(arch).attention.key_length") ?? width / heads
        let value = integer("\(arch).attention.value_length") ?? width / heads
        let (n, overflow) = kvHeads.multipliedReportingOverflow(by: key &+ value)
        return overflow || n < 0 ? 0 : Int(clamping: n) &* 2
    }
    public var parameterCount: UInt64 {
        tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// The quantisation: the `general.file_type` name when present, else the most common tensor type.
    public var quantization: String {
        if let ft = integer("general.file_type") {
            let name = String(cString: llama_ftype_name(llama_ftype(rawValue: UInt32(clamping: ft))))
            if !name.isEmpty, !name.contains("unknown") { return name }
        }
        let counts = Dictionary(grouping: tensors, by: \.typeName).mapValues(\.count)
        return counts.max { $0.value < $1.value }?.key ?? "unknown"
    }

    /// Reads and checks the header of the GGUF file at `path`.
    public init(path: String) throws(ProcessorError) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .modelNotFound(path: path)
        }
        if isDirectory.boolValue { throw .invalidModelFile(path: path, reason: "it is a directory") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .invalidModelFile(path: path, reason: "it cannot be read (\(error.localizedDescription))")
        }
        fileSize = UInt64(data.count)
        var reader = Reader(data: data)
        func bad(_ reason: String) -> ProcessorError { .invalidModelFile(path: path, reason: reason) }
        do {
            guard data.count >= 4, data.prefix(4) == Data("GGUF".utf8) else {
                throw Reader.Failure(reason: "it does not start with the GGUF magic bytes (not a GGUF file)")
            }
            reader.offset = 4
            version = try reader.u32()
            guard version == 2 || version == 3 else {
                throw Reader.Failure(reason: "GGUF version \(version) is not supported (2 or 3 expected)")
            }
            let tensorCount = try reader.u64()
            let kvCount = try reader.u64()
            // Every entry takes at least 8 bytes; more than the file can hold means corruption.
            guard tensorCount < fileSize / 8, kvCount < fileSize / 8 else {
                throw Reader.Failure(
                    reason:
                        "the header claims \(tensorCount) tensors and \(kvCount) metadata entries, more than \(fileSize) bytes can hold (the file is truncated or corrupt)"
                )
            }
            var metadata: [(key: String, value: Value)] = []
            var alignment: UInt64 = 32
            for _ in 0..<kvCount {
                let key = try reader.string()
                let value = try reader.value(type: try reader.u32())
                if key == "general.alignment", case .uint(let a) = value { alignment = a }
                metadata.append((key, value))
            }
            guard alignment > 0, alignment & (alignment - 1) == 0 else {
                throw Reader.Failure(reason: "general.alignment \(alignment) is not a power of two")
            }
            var infos: [(Tensor, UInt64)] = []
            for _ in 0..<tensorCount {
                let name = try reader.string()
                let dims = try reader.u32()
                guard dims <= 8 else { throw Reader.Failure(reason: "tensor \(name) has \(dims) dimensions") }
                var shape: [UInt64] = []
                for _ in 0..<dims { shape.append(try reader.u64()) }
                let type = try reader.u32()
                let offset = try reader.u64()
                guard type < GGML_TYPE_COUNT.rawValue, ggml_blck_size(ggml_type(type)) > 0 else {
                    throw Reader.Failure(reason: "tensor \(name) has unknown type \(type)")
                }
                let ggmlType = ggml_type(type)
                let elements = shape.reduce(UInt64(1)) { $0.multipliedReportingOverflow(by: $1).partialValue }
                let block = UInt64(ggml_blck_size(ggmlType))
                guard shape.first.map({ $0 % block == 0 }) ?? true else {
                    throw Reader.Failure(reason: "tensor \(name) has a row length that is not a multiple of its block size")
                }
                let (bytes, overflow) = (elements / block).multipliedReportingOverflow(by: UInt64(ggml_type_size(ggmlType)))
                guard !overflow else { throw Reader.Failure(reason: "tensor \(name) is impossibly large") }
                infos.append(
                    (Tensor(name: name, shape: shape, typeName: String(cString: ggml_type_name(ggmlType)), byteCount: bytes), offset))
            }
            let dataStart = (UInt64(reader.offset) + alignment - 1) / alignment * alignment
            for (tensor, offset) in infos {
                let (end, overflow) = dataStart.addingReportingOverflow(offset)
                guard !overflow, end.addingReportingOverflow(tensor.byteCount).partialValue <= fileSize,
                    end.addingReportingOverflow(tensor.byteCount).overflow == false
                else {
                    throw Reader.Failure(
                        reason:
                            "the file ends at byte \(fileSize) but tensor \(tensor.name) needs bytes up to \(dataStart &+ offset &+ tensor.byteCount); the file is truncated"
                    )
                }
            }
            self.metadata = metadata
            tensors = infos.map(\.0)
        } catch let failure as Reader.Failure {
            throw bad(failure.reason)
        } catch {
            throw bad("\(error)")
        }
    }

    private struct Reader {
        struct Failure: Error { var reason: String }
        let data: Data
        var offset = 0

        mutating func bytes(_ n: UInt64) throws -> Data {
            guard n <= UInt64(data.count - offset) else {
                throw Failure(reason: "the header ends early at byte \(data.count) (the file is truncated or corrupt)")
            }
            let start = data.startIndex + offset
            offset += Int(n)
            return data[start..<(start + Int(n))]
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let raw = try bytes(UInt64(MemoryLayout<T>.size))
            return raw.reduce(into: (T(0), 0)) { acc, byte in
                acc.0 |= T(truncatingIfNeeded: byte) << acc.1
                acc.1 += 8
            }.0
        }

        mutating func u32() throws -> UInt32 { try integer(UInt32.self) }
        mutating func u64() throws -> UInt64 { try integer(UInt64.self) }

        mutating func string() throws -> String {
            let length = try u64()
            let raw = try bytes(length)
            guard let s = String(validating: raw, as: UTF8.self) else {
                throw Failure(reason: "a string at byte \(offset - Int(length)) is not valid UTF-8")
            }
            return s
        }

        static let typeNames = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"]

        mutating func value(type: UInt32, depth: Int = 0) throws -> Value {
            switch type {
            case 0: return .uint(UInt64(try integer(UInt8.self)))
            case 1: return .int(Int64(try integer(Int8.self)))
            case 2: return .uint(UInt64(try integer(UInt16.self)))
            case 3: return .int(Int64(try integer(Int16.self)))
            case 4: return .uint(UInt64(try u32()))
            case 5: return .int(Int64(try integer(Int32.self)))
            case 6: return .float(Double(Float(bitPattern: try u32())))
            case 7: return .bool(try integer(UInt8.self) != 0)
            case 8: return .string(try string())
            case 9:
                guard depth < 4 else { throw Failure(reason: "arrays nested too deeply in the metadata") }
                let elementType = try u32()
                let count = try u64()
                guard count <= UInt64(data.count - offset) else {
                    throw Failure(
                        reason:
                            "a metadata array claims \(count) elements but the file ends at byte \(data.count) (the file is truncated or corrupt)"
                    )
                }
                let fixed: [UInt32: UInt64] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]
                var preview: [String] = []
                if let size = fixed[elementType] {
                    _ = try bytes(count * size)  // skip; vocabularies are large
                } else {
                    for i in 0..<count {
                        let v = try value(type: elementType, depth: depth + 1)
                        if i < 8 { preview.append(v.description) }
                    }
                }
                let name = Int(elementType) < Self.typeNames.count ? Self.typeNames[Int(elementType)] : "?"
                return .array(elementType: name, count: count, preview: preview)
            case 10: return .uint(try u64())
            case 11: return .int(Int64(bitPattern: try u64()))
            case 12: return .float(Double(bitPattern: try u64()))
            default: throw Failure(reason: "unknown metadata value type \(type) at byte \(offset - 4)")
            }
        }
    }
}
