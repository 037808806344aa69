import AnimaCore
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where a registry lives: a local folder or an HTTP(S) base URL serving the same files.
///
/// Downloads go to a `.partial` file and continue from where it ended (HTTP `Range`), in
/// blocks, reporting progress after each; the finished file must have the size and
/// SHA-256 the signed index gives, or it is deleted and refused.
public struct RegistrySource: Sendable, CustomStringConvertible {
    public enum Location: Sendable {
        case directory(URL)
        case http(URL)
    }
    public let location: Location

    public init(_ text: String) {
        if text.hasPrefix("http://") || text.hasPrefix("https://"), let url = URL(string: text.hasSuffix("/") ? text : text + "/") {
            location = .http(url)
        } else {
            location = .directory(URL(fileURLWithPath: text))
        }
    }

    public var description: String {
        switch location {
        case .directory(let url): url.path
        case .http(let url): url.absoluteString
        }
    }

    /// A small file of the registry (the index), whole.
    public func fetch(_ relative: String, limit: Int = 16 << 20) async throws(StoreError) -> Data {
        switch location {
        case .directory(let root):
            return try PackageVerifier.readRegular(root.appendingPathComponent(relative), limit: limit)
        case .http(let base):
            guard let url = URL(string: relative, relativeTo: base) else { throw .download("bad path \(relative)") }
            let (data, status) = try await get(url, range: nil)
            guard status == 200 else { throw .download("\(url.absoluteString) answered HTTP \(status)") }
            guard data.count <= limit else { throw .download("\(relative) is larger than \(limit) bytes") }
            return data
        }
    }

    /// Downloads `entry`'s archive to `destination`, resuming a `.partial` file, checking
    /// its size and digest; `progress` gets (bytes so far, total).
    public func download(
        _ entry: RegistryIndex.Entry, to destination: URL, block: Int = 16 << 20, progress: (Int64, Int64) -> Void = { _, _ in }
    ) async throws(StoreError) {
        let partial = URL(fileURLWithPath: destination.path + ".partial")
        if !FileManager.default.fileExists(atPath: partial.path) { _ = FileManager.default.createFile(atPath: partial.path, contents: nil) }
        guard let out = FileHandle(forUpdatingAtPath: partial.path) else { throw .download("cannot write \(partial.path)") }
        var have = Int64((try? out.seekToEnd()) ?? 0)
        if have > entry.size {
            try? out.truncate(atOffset: 0)
            have = 0
        }
        progress(have, entry.size)
        do {
            while have < entry.size {
                let want = min(Int64(block), entry.size - have)
                let chunk: Data
                switch location {
                case .directory(let root):
                    guard let input = FileHandle(forReadingAtPath: root.appendingPathComponent(entry.archive).path) else {
                        throw StoreError.download("\(entry.archive) is missing from the registry")
                    }
                    try input.seek(toOffset: UInt64(have))
                    chunk = try input.read(upToCount: Int(want)) ?? Data()
                    try input.close()
                case .http(let base):
                    guard let url = URL(string: entry.archive, relativeTo: base) else {
                        throw StoreError.download("bad path \(entry.archive)")
                    }
                    let (data, status) = try await get(url, range: have..<(have + want))
                    guard status == 206 || (status == 200 && have == 0 && Int64(data.count) == entry.size) else {
                        throw StoreError.download("\(url.absoluteString) answered HTTP \(status) to a range request")
                    }
                    chunk = data
                }
                guard !chunk.isEmpty, Int64(chunk.count) <= entry.size - have else {
                    throw StoreError.download("\(entry.archive) is shorter or longer than the index says")
                }
                try out.write(contentsOf: chunk)
                have += Int64(chunk.count)
                progress(have, entry.size)
            }
            try out.synchronize()
            try out.close()
        } catch let error as StoreError {
            try? out.close()
            throw error
        } catch {
            try? out.close()
            throw .download("\(error)")
        }
        let digest = try PackageFiles.sha256(partial.path)
        guard digest == entry.sha256 else {
            try? FileManager.default.removeItem(at: partial)
            throw .index("\(entry.archive) hashes to \(digest.prefix(16)), not the \(entry.sha256.prefix(16)) the signed index gives")
        }
        _ = try? FileManager.default.removeItem(at: destination)
        guard rename(partial.path, destination.path) == 0 else { throw .download("cannot move the download into place") }
    }

    private func get(_ url: URL, range: Range<Int64>?) async throws(StoreError) -> (Data, Int) {
        var request = URLRequest(url: url, timeoutInterval: 60)
        if let range { request.setValue("bytes=\(range.lowerBound)-\(range.upperBound - 1)", forHTTPHeaderField: "Range") }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return (data, (response as? HTTPURLResponse)?.statusCode ?? 0)
        } catch {
            throw .download("\(url.absoluteString): \(error.localizedDescription)")
        }
    }
}
