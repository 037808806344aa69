import AnimaCore
import Testing

@testable import AnimaServer

/// `ignore_eos`, llama-server's extension, which load tests use to compare answers of equal length.
@Suite struct IgnoreEOSWireTests {
    @Test func trueGeneratesPastTheEndOfTurn() throws {
        let body = try #require(try JSONValue(parsing: #"{"model":"m","ignore_eos":true,"max_tokens":64}"#).objectValue)
        let sampling = try ChatWire.sampling(from: body)
        #expect(sampling.ignoreEndOfTurn)
        #expect(sampling.maxTokens == 64)
    }

    @Test func absentNullOrFalseStopsAtTheEndOfTurn() throws {
        for text in [#"{"model":"m"}"#, #"{"model":"m","ignore_eos":null}"#, #"{"model":"m","ignore_eos":false}"#] {
            let body = try #require(try JSONValue(parsing: text).objectValue)
            #expect(try ChatWire.sampling(from: body).ignoreEndOfTurn == false, "\(text)")
        }
    }

    @Test func anythingButABooleanIsRefusedByName() throws {
        for value in ["1", "0", "\"true\"", "[]", "{}", "1e300", "-1e300"] {
            let body = try #require(try JSONValue(parsing: #"{"model":"m","ignore_eos":\#(value)}"#).objectValue)
            #expect(throws: APIError.self, "\(value)") { try ChatWire.sampling(from: body) }
            do {
                _ = try ChatWire.sampling(from: body)
            } catch let error as APIError {
                #expect(error.message.contains("ignore_eos"))
            }
        }
    }
}
