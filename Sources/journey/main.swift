import Foundation

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "import": exit(ImportCommand.run(Array(args.dropFirst())))
case "generate": exit(GenerateCommand.run(Array(args.dropFirst())))
default: print("journey"); exit(0)
}
