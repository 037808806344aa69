/// How to reach a PostgreSQL server that has the pgvector extension.
public struct PostgresLocation: Sendable, Hashable {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String

    public init(endpoint: Endpoint, username: String, password: String? = nil, database: String) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
    }
}
