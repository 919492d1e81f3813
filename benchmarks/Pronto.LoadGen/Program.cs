using Pronto.LoadGen;

// Thin host: the command line lives in LoadCommand, the load generator in the library types beside it.
return await LoadCommand.RunAsync(args);
