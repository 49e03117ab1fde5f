import Foundation

// Entry point: `sendarix <command> ...`. See CLI.swift.
exit(CLI.main(Array(CommandLine.arguments.dropFirst())))
