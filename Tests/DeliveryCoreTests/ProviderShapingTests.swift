import Testing
import DeliveryCore

@Suite("Providers and shaping")
struct ProviderShapingTests {
    @Test("MX host names map to their providers", arguments: [
        ("aspmx.l.google.com", Provider.google),
        ("ALT1.ASPMX.L.GOOGLE.COM.", .google),
        ("gmail-smtp-in.l.google.com", .google),
        ("smtp.google.com", .google),
        ("alt2.gmail-smtp-in.l.googlemail.com", .google),
        ("example-com.mail.protection.outlook.com", .microsoft),
        ("example-com.r-v1.mx.microsoft", .microsoft),
        ("hotmail-com.olc.protection.outlook.com", .microsoft),
        ("mta5.am0.yahoodns.net", .yahoo),
        ("mx-aol.mail.gm0.yahoodns.net", .yahoo),
        ("mx01.mail.icloud.com", .apple),
        ("mx.zoho.eu", .zoho),
        ("mail.protonmail.ch", .proton),
        ("in1-smtp.messagingengine.com", .fastmail),
        ("eu-smtp-inbound-1.mimecast.com", .mimecast),
        ("mx0a-00123456.pphosted.com", .proofpoint),
        ("mx1-us1.ppe-hosted.com", .proofpoint),
        ("mail.example.com", .other),
        ("notgoogle.com", .other),
        ("google.com.evil.example", .other),
    ])
    func recognition(host: String, provider: Provider) {
        #expect(Provider.recognize(mxHost: host) == provider)
    }

    @Test("the first recognised MX decides the provider of a domain")
    func recognitionList() {
        #expect(Provider.recognize(mxHosts: ["backup.example.com", "aspmx.l.google.com"]) == .google)
        #expect(Provider.recognize(mxHosts: []) == .other)
    }

    @Test("defaults: 10/100/100 for everyone, 5 conns and 50 per conn for Google and Microsoft, 20 per conn for Yahoo, TLS 1.2 for the big three")
    func defaults() {
        let other = ShapingPolicy.defaults(for: .other)
        #expect(other.maxConnections == 10 && other.maxMessagesPerConnection == 100 && other.messagesPerSecond == 100)
        #expect(other.minimumTLS == nil)
        for provider in [Provider.google, .microsoft] {
            let policy = ShapingPolicy.defaults(for: provider)
            #expect(policy.maxConnections == 5 && policy.maxMessagesPerConnection == 50)
            #expect(policy.minimumTLS == .tls1_2)
        }
        let yahoo = ShapingPolicy.defaults(for: .yahoo)
        #expect(yahoo.maxConnections == 10 && yahoo.maxMessagesPerConnection == 20 && yahoo.minimumTLS == .tls1_2)
        #expect(ShapingPolicy.TLSVersion.tls1_3 > .tls1_2)
    }

    @Test("configuration merges the all-providers override, then the provider's own, over the defaults")
    func overrides() {
        let configuration = ShapingPolicy.Configuration(
            all: .init(messagesPerSecond: 20),
            providers: ["google": .init(maxConnections: 2, minimumTLS: .tls1_3)])
        let google = configuration.policy(for: .google)
        #expect(google.maxConnections == 2)
        #expect(google.maxMessagesPerConnection == 50)
        #expect(google.messagesPerSecond == 20)
        #expect(google.minimumTLS == .tls1_3)
        let yahoo = configuration.policy(for: .yahoo)
        #expect(yahoo.maxConnections == 10 && yahoo.messagesPerSecond == 20 && yahoo.maxMessagesPerConnection == 20)
    }
}
