import AnimaCore
import AnimaProcessor
import Foundation

/// Why a model provider (a cloud API or an inference server) could not serve a request.
///
/// Every message names the provider, says what was wrong and what to do next. Messages
/// never contain a credential: text that a server sends back is cleaned of the secret
/// before it gets here (some servers echo part of a rejected key).
public enum ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No API key was configured or found in the environment.
    case missingCredential(provider: String, environmentVariable: String?)
    /// The server rejected the credential (HTTP 401 or 403).
    case badCredential(provider: String, status: Int, detail: String)
    /// The server does not know the model, or the key may not use it.
    case unknownModel(provider: String, model: String, detail: String)
    /// The server kept answering 429 after every retry.
    case rateLimited(provider: String, attempts: Int, detail: String)
    /// The server kept failing (5xx) after every retry.
    case serverFailure(provider: String, status: Int, attempts: Int, detail: String)
    /// The server refused the request as malformed (other 4xx).
    case rejectedRequest(provider: String, status: Int, detail: String)
    /// The model declined to answer (a refusal, a safety or content filter).
    case refused(provider: String, reason: String)
    /// The server reported an error in the middle of a stream.
    case streamFailure(provider: String, detail: String)
    /// The server sent something that is not the provider's documented format.
    case malformedResponse(provider: String, reason: String)
    /// The stream ended before the provider's end-of-answer marker.
    case truncatedStream(provider: String, detail: String)
    /// One event, or the whole response, was larger than the configured limit.
    case oversizedResponse(provider: String, limit: Int)
    /// No response, or no more of the stream, within the time allowed.
    case timedOut(provider: String, waitingFor: String, seconds: Double)
    /// The server could not be reached.
    case connectionFailed(provider: String, url: String, reason: String)
    /// The server answered with a redirect; Anima does not follow them, so that a
    /// credential is never sent to a host it was not configured for.
    case redirectRefused(provider: String, status: Int, location: String)
    /// A request labelled private reached a processor that is not on this machine.
    case privateDataRefused(provider: String)
    /// The provider cannot do what the request asks.
    case unsupported(provider: String, feature: String)
    /// The endpoint configuration cannot be used.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .missingCredential(let provider, let variable):
            "\(provider): no API key is configured; "
                + (variable.map { "set $\($0), or " } ?? "") + "run `anima setup` to store one encrypted"
        case .badCredential(let provider, let status, let detail):
            "\(provider) rejected the API key (HTTP \(status)\(suffix(detail))); "
                + "check the key with the provider and store it again with `anima setup`"
        case .unknownModel(let provider, let model, let detail):
            "\(provider) has no model \"\(model)\" that this key may use\(suffix(detail)); "
                + "check the model name with `anima models` or the provider's model list"
        case .rateLimited(let provider, let attempts, let detail):
            "\(provider) is rate-limiting this key (HTTP 429 after \(attempts) attempt\(attempts == 1 ? "" : "s")\(suffix(detail))); "
                + "wait and try again, or lower the request rate"
        case .serverFailure(let provider, let status, let attempts, let detail):
            "\(provider) failed with HTTP \(status) after \(attempts) attempt\(attempts == 1 ? "" : "s")\(suffix(detail)); "
                + "the provider is having trouble: try again later or route to another processor"
        case .rejectedRequest(let provider, let status, let detail):
            "\(provider) rejected the request (HTTP \(status)\(suffix(detail))); "
                + "check the model's limits and the request's parameters"
        case .refused(let provider, let reason):
            "\(provider) declined to answer: \(reason); rephrase the request or use another model"
        case .streamFailure(let provider, let detail):
            "\(provider) reported an error while streaming: \(detail); try again"
        case .malformedResponse(let provider, let reason):
            "\(provider) sent a response Anima cannot read: \(reason); "
                + "check that the endpoint's base URL and kind are right in `anima setup`"
        case .truncatedStream(let provider, let detail):
            "the stream from \(provider) ended early (\(detail)); the connection dropped or the server stopped, try again"
        case .oversizedResponse(let provider, let limit):
            "\(provider) sent more than \(limit) bytes in one piece; "
                + "this is not a normal answer (check the endpoint), or raise the limit"
        case .timedOut(let provider, let waitingFor, let seconds):
            "\(provider) sent nothing for \(format(seconds)) s while Anima waited for \(waitingFor); "
                + "the server may be overloaded, or raise the timeout"
        case .connectionFailed(let provider, let url, let reason):
            "cannot reach \(provider) at \(url): \(reason); check the address and that the server is running"
        case .redirectRefused(let provider, let status, let location):
            "\(provider) answered with a redirect (HTTP \(status)) to \(location.isEmpty ? "an unnamed location" : location); "
                + "Anima does not follow redirects with credentials, so configure the final URL instead"
        case .privateDataRefused(let provider):
            "\(provider) is not on this machine and the request is labelled private; "
                + "private data is only served by local processors"
        case .unsupported(let provider, let feature):
            "\(provider) does not support \(feature)"
        case .invalidConfiguration(let reason):
            "invalid provider configuration: \(reason); fix it with `anima setup`"
        }
    }

    /// Whether trying the same request on another processor may succeed.
    public var allowsFailover: Bool {
        switch self {
        case .refused, .privateDataRefused: false
        default: true
        }
    }

    private func suffix(_ detail: String) -> String { detail.isEmpty ? "" : ": \(detail)" }

    private func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}
