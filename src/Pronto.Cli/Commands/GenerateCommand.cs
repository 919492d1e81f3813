using System.CommandLine;
using System.Globalization;
using Pronto.Core.Errors;
using Pronto.Core.Generation;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto generate NAME --prompt TEXT</c>: streams a generative model's completion to the terminal as the tokens
/// come, on this machine (the same decode loop as the server's /v1 routes). <c>--chat</c> is an interactive session:
/// each line read is a user message, the model's answer streams back, and the conversation so far is the next
/// prompt (rendered with the model's chat template); an empty line or end of input ends it.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The generative model to run." };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "The text to complete (with --chat: the first user message)." };
        var chat = new Option<bool>("--chat") { Description = "An interactive chat: each line is a user message; an empty line or end of input ends it." };
        var system = new Option<string?>("--system") { Description = "With --chat: a system message before the conversation." };
        var maxTokens = new Option<int?>("--max-tokens", "-n") { Description = "Tokens to generate at most (default 128, or the rest of the context)." };
        var temperature = new Option<float>("--temperature", "-t") { Description = "0 is greedy (the default, reproducible); up to 2.", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling.", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Only the k most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of sampled decoding (the same seed gives the same text)." };
        var stop = new Option<string[]>("--stop") { Description = "A string that ends the text (repeat for several)." };
        var command = new Command("generate", "Stream a generative model's completion (or chat) to the terminal, offline.")
        {
            name, prompt, chat, system, maxTokens, temperature, topP, topK, seed, stop,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sampling = new SamplingParameters
            {
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                TopK = parse.GetValue(topK),
                Seed = parse.GetValue(seed),
                Stop = parse.GetValue(stop) ?? [],
            };
            var isChat = parse.GetValue(chat);
            var text = parse.GetValue(prompt);
            if (!isChat && text is null)
            {
                ProntoErrors.InvalidArgument("--prompt is required (or --chat for an interactive session)");
            }

            using var repository = context.OpenRepository(parse.GetValue(context.RepositoryOption));
            var modelName = parse.GetValue(name)!;
            repository.ModelDirectory(modelName);
            repository.Load(modelName);
            using var lease = repository.Acquire(modelName);
            var model = lease.Model.Generative
                ?? ProntoErrors.InvalidArgument<GenerativeModel>($"model '{modelName}' is not a generative model (config.pbtxt: pronto.generative: true)");
            if (!isChat)
            {
                await StreamAsync(context, model, model.Tokenizer.EncodePrompt(text!), sampling, parse.GetValue(maxTokens), cancellationToken);
                return ExitCodes.Success;
            }

            if (model.ChatTemplate.Unsupported is { } why)
            {
                ProntoErrors.InvalidArgument($"model '{modelName}' cannot chat: {why}");
            }

            var messages = new List<ChatMessage>();
            if (parse.GetValue(system) is { } systemText)
            {
                messages.Add(new ChatMessage("system", systemText));
            }

            var next = text;
            while (true)
            {
                if (next is null)
                {
                    await context.Output.WriteAsync("> ");
                    await context.Output.FlushAsync(cancellationToken);
                    next = await context.Input.ReadLineAsync(cancellationToken);
                }

                if (string.IsNullOrEmpty(next))
                {
                    return ExitCodes.Success;
                }

                messages.Add(new ChatMessage("user", next));
                var ids = model.Tokenizer.Encode(model.ChatTemplate.Render(model.Name, messages));
                var answer = await StreamAsync(context, model, ids, sampling, parse.GetValue(maxTokens), cancellationToken);
                messages.Add(new ChatMessage("assistant", answer));
                next = null;
            }
        });
        return command;
    }

    /// <summary>Writes the completion of <paramref name="prompt"/> piece by piece, then a newline; returns its text.</summary>
    private static async Task<string> StreamAsync(CliContext context, GenerativeModel model, int[] prompt, SamplingParameters sampling, int? maxTokens, CancellationToken cancellationToken)
    {
        var room = model.ContextLength - prompt.Length;
        if (room < 1)
        {
            ProntoErrors.InvalidArgument(string.Create(CultureInfo.InvariantCulture, $"the prompt is {prompt.Length} tokens; model '{model.Name}' reads {model.ContextLength} at most"));
        }

        var parameters = sampling with { MaxTokens = maxTokens ?? Math.Min(128, room) };
        var text = new System.Text.StringBuilder();
        await foreach (var chunk in model.Generate(prompt, parameters, cancellationToken))
        {
            if (chunk.Text.Length > 0)
            {
                text.Append(chunk.Text);
                await context.Output.WriteAsync(chunk.Text);
                await context.Output.FlushAsync(cancellationToken);
            }
        }

        await context.Output.WriteLineAsync();
        return text.ToString();
    }
}
