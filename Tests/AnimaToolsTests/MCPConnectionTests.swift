import Foundation
import Testing

@testable import AnimaTools

#if canImport(Glibc)
import Glibc
#endif

/// The pipe to an MCP server: whole lines, a cap on each, and an end that is an error.
@Suite("MCP connection")
struct MCPConnectionTests {
    /// A transport reading what the test writes to `server`, and writing to a pipe nobody reads.
    struct Link {
        let transport: MCPPipeTransport
        let server: Int32
        private let unread: Int32

        init() {
            signal(SIGPIPE, SIG_IGN)
            var output: [Int32] = [0, 0]
            var input: [Int32] = [0, 0]
            _ = pipe(&output)
            _ = pipe(&input)
            transport = MCPPipeTransport(reading: output[0], writing: input[1])
            Glibc.close(output[0])
            Glibc.close(input[1])
            server = output[1]
            unread = input[0]
        }

        func write(_ text: String) {
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(server, $0.baseAddress, $0.count) }
                guard n > 0 else { return }
                offset += n
            }
        }

        /// Every message until the stream ends, and why it ended (nil when it ended cleanly).
        func messages() async -> ([String], MCPPipeTransport.Ending?) {
            var messages: [String] = []
            do {
                for try await data in await transport.receive() { messages.append(String(decoding: data, as: UTF8.self)) }
                return (messages, nil)
            } catch {
                return (messages, error as? MCPPipeTransport.Ending)
            }
        }

        func close() async {
            await transport.disconnect()
            Glibc.close(unread)
        }
    }

    @Test func linesArriveWholeAndTheServerExitingEndsTheStreamWithAnError() async throws {
        let link = Link()
        try await link.transport.connect()
        link.write("{\"jsonrpc\":\"2.0\",")
        link.write("\"method\":\"a\"}\n\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}\n")
        close(link.server)
        let result = await within(seconds: 20) { await link.messages() }
        #expect(result?.0 == ["{\"jsonrpc\":\"2.0\",\"method\":\"a\"}", "{\"jsonrpc\":\"2.0\",\"method\":\"b\"}"])
        #expect(result?.1 == .closed)
        #expect(await link.transport.ending?.description.contains("closed its output") == true)
        await link.close()
    }

    @Test func outputWithoutALineBreakIsCutOffAtTheCap() async throws {
        let link = Link()
        try await link.transport.connect()
        let server = link.server
        Thread {
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 16)
            while chunk.withUnsafeBytes({ Glibc.write(server, $0.baseAddress, $0.count) }) > 0 {}
            close(server)
        }.start()
        let result = await within(seconds: 60) { await link.messages() }
        #expect(result?.0 == [])
        #expect(result?.1 == .messageTooLong(MCPPipeTransport.maxMessageBytes))
        await link.close()
    }

    @Test func anAnswerToARequestNeverSentEndsTheStream() async throws {
        let link = Link()
        try await link.transport.connect()
        try await link.transport.send(Data(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.utf8))
        link.write("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n{\"jsonrpc\":\"2.0\",\"id\":\"not-yours\",\"result\":{}}\n")
        let result = await within(seconds: 20) { await link.messages() }
        #expect(result?.0 == ["{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"])
        #expect(result?.1 == .unknownAnswer("not-yours"))
        close(link.server)
        await link.close()
    }
}
