import AnimaCommandSupport
import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// `anima store serve`: a registry folder over HTTP, with byte ranges for resumed downloads.
struct StoreServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a registry folder over HTTP (any static web server works as well).",
        discussion: """
            Example:
              anima store serve ~/.cache/anima/registry --port 8765
              anima store search --registry http://127.0.0.1:8765
            """)
    @Argument(help: "The registry folder (index.json and archives/).") var directory: String
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: NumericFlag.help("The port (0: any free port).", 0...65535), transform: NumericFlag.integer(0...65535))
    var port = 8765

    mutating func run() async throws {
        guard FileManager.default.fileExists(atPath: directory + "/index.json") else {
            throw ValidationError("\(directory) has no index.json; publish a package into it with `anima store publish`")
        }
        var logger = Logger(label: "anima-store")
        logger.logLevel = .warning
        let (folder, address) = (directory, host)
        let router = Router()
        router.add(middleware: FileMiddleware(directory, searchForIndexHtml: false, logger: logger))
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "anima-store"),
            onServerRunning: { channel in
                // Unbuffered, so a script that waits for this line sees it at once.
                FileHandle.standardOutput.write(Data("serving \(folder) at http://\(address):\(channel.localAddress?.port ?? 0)/\n".utf8))
            }, logger: logger)
        try await app.runService()
    }
}
