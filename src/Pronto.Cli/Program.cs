using Pronto.Cli;

// Thin host: everything lives in ProntoCli, which tests construct directly.
return await ProntoCli.RunAsync(args, Console.Out, Console.Error);
