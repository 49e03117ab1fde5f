// swift-tools-version:6.0
import PackageDescription

// Module map (one module per concern; pure cores have no dependencies):
//   SendarixSupport pure shared helpers: civil dates (RFC 3339/5322), IP text, SplitMix64; metrics;
//                 thread names and priorities (ThreadPriority, through CSystemShims)
//   SMTPCore      pure SMTP protocol: parser, session state machine, addresses, DATA decoding
//   DNSCore       pure DNS wire codec, authoritative responder logic, resolver logic
//   RaftCore      pure Raft state machine (Ready-style), no I/O
//   DeliveryCore  pure delivery rules: bounce classification, retry schedule, providers, DSN
//   HTTPCore      pure HTTP/1.1 request parser and response writer (admin API, webhooks)
//   DNSService    DNS I/O shells: authoritative UDP/TCP server, stub resolver client
//   RelayConfig   JSON configuration, validation (check-config), credentials, IP networks
//   SpoolStore    LMDB shell: local log with group commit, spool state machine, events
//   NetworkIO     epoll event loops, sockets, TLS (OpenSSL)
//   DeliveryEngine delivery shell: scheduling, routing, SMTP client connections, outcomes
//   ClusterLog    Raft shell: replicated ReplicatedLog, LMDB raft storage, peer transport, leases
//   RelayNode     node assembly: config, SMTP server shell, admin API, delivery shell
//   sendarix      the CLI executable
//   FuzzTargets   libFuzzer entry points over the pure parsers (not in any product; see cluster/fuzz)
//   Fuzz*         one tiny libFuzzer executable per parser, built on request: cluster/fuzz, or
//                 swift build -Xswiftc -sanitize=fuzzer,address --product FuzzSMTPSession
let package = Package(
    name: "Sendarix",
    products: [
        .executable(name: "sendarix", targets: ["sendarix"]),
    ],
    targets: [
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", pkgConfig: "lmdb",
                       providers: [.apt(["liblmdb-dev"])]),
        .target(name: "CSystemShims", path: "Sources/CSystemShims"),

        .target(name: "SendarixSupport", dependencies: ["CSystemShims"]),
        .target(name: "SendarixCrypto", dependencies: ["COpenSSL"]),
        .target(name: "DKIM", dependencies: ["SendarixCrypto", "SendarixSupport"]),
        .target(name: "Registry", dependencies: ["SendarixSupport"]),
        .target(name: "SMTPCore", dependencies: ["SendarixSupport"]),
        .target(name: "DNSCore", dependencies: ["SendarixSupport"]),
        .target(name: "RaftCore", dependencies: ["SendarixSupport"]),
        .target(name: "DeliveryCore", dependencies: ["SendarixSupport"]),
        .target(name: "HTTPCore"),
        .target(name: "DNSService", dependencies: ["DNSCore"]),
        .target(name: "RelayConfig", dependencies: ["SendarixSupport", "COpenSSL", "Registry"]),
        .target(name: "SpoolStore", dependencies: ["SendarixSupport", "CLMDB", "Registry", "CSystemShims"]),
        .target(name: "NetworkIO", dependencies: ["CSystemShims", "COpenSSL", "SendarixSupport"]),
        .target(name: "DeliveryEngine", dependencies: [
            "DeliveryCore", "DNSCore", "DNSService", "HTTPCore", "NetworkIO", "RelayConfig", "SpoolStore", "SendarixSupport",
        ]),
        .target(name: "ClusterLog", dependencies: [
            "RaftCore", "SpoolStore", "NetworkIO", "RelayConfig", "CLMDB", "COpenSSL", "SendarixSupport",
        ]),
        .target(name: "RelayNode", dependencies: [
            "DeliveryEngine", "ClusterLog",
            "SMTPCore", "DNSCore", "DNSService", "RaftCore", "DeliveryCore", "HTTPCore",
            "RelayConfig", "SpoolStore", "NetworkIO", "COpenSSL", "SendarixSupport",
            "DKIM", "Registry", "SendarixCrypto",
        ]),
        .executableTarget(name: "sendarix", dependencies: ["RelayNode"]),

        // Fuzzing (issue 13): not part of the `sendarix` product. In a plain build each Fuzz* executable
        // only replays input files; with -sanitize=fuzzer libFuzzer's main takes over.
        .target(name: "FuzzTargets", dependencies: ["SMTPCore", "DNSCore", "HTTPCore", "DeliveryCore", "RelayConfig"]),
        .executableTarget(name: "FuzzSMTPCommand", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzSMTPCommand"),
        .executableTarget(name: "FuzzSMTPSession", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzSMTPSession"),
        .executableTarget(name: "FuzzSMTPData", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzSMTPData"),
        .executableTarget(name: "FuzzDNS", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzDNS"),
        .executableTarget(name: "FuzzHTTP", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzHTTP"),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzConfig"),
        .executableTarget(name: "FuzzSMTPReply", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzSMTPReply"),
        .executableTarget(name: "FuzzMIME", dependencies: ["FuzzTargets"], path: "Sources/Fuzz/FuzzMIME"),

        .testTarget(name: "SendarixSupportTests", dependencies: ["SendarixSupport"]),
        .testTarget(name: "SendarixCryptoTests", dependencies: ["SendarixCrypto", "SendarixSupport"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "SendarixSupport"]),
        .testTarget(name: "DKIMTests", dependencies: ["DKIM", "SendarixCrypto", "SendarixSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "SMTPCoreTests", dependencies: ["SMTPCore", "SendarixSupport"]),
        .testTarget(name: "DNSCoreTests", dependencies: ["DNSCore", "SendarixSupport"]),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore", "SendarixSupport"]),
        .testTarget(name: "DeliveryCoreTests", dependencies: ["DeliveryCore", "SendarixSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "HTTPCoreTests", dependencies: ["HTTPCore", "SendarixSupport"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "DNSServiceTests", dependencies: ["DNSService", "TestSupport"]),
        .testTarget(name: "RelayConfigTests", dependencies: ["RelayConfig", "SendarixSupport", "Registry"]),
        .testTarget(name: "SpoolStoreTests", dependencies: ["SpoolStore", "SendarixSupport", "TestSupport", "CLMDB"]),
        .testTarget(name: "NetworkIOTests", dependencies: ["NetworkIO"]),
        .testTarget(name: "DeliveryEngineTests", dependencies: ["DeliveryEngine", "TestSupport"]),
        .testTarget(name: "ClusterLogTests", dependencies: ["ClusterLog", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["RelayNode", "TestSupport", "FuzzTargets"]),
    ]
)
