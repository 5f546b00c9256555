namespace Comet4Net.Web.Internal;

/// <summary>
/// A bad <c>Comet</c> setting ends the process cleanly: one error line on stderr naming the setting, its
/// value and what is allowed, and exit code 1, instead of the runtime's "Unhandled exception" with a stack
/// trace and an abort (exit code 134, a core dump where they are on). The setting is found invalid while
/// the app is built (<c>builder.Build()</c>, when Kestrel reads the limits) or started (ValidateOnStart),
/// both inside the application's own <c>Main</c>, where no hosted service can catch it: so this watches for
/// the one exception that escapes <c>Main</c> unhandled, and acts only when it is a
/// <see cref="CometConfigurationException"/>. An application that catches the exception itself (a test,
/// a host of its own) never reaches this.
/// </summary>
internal static class CometStartupFailure
{
    private static int _watching;

    /// <summary>Installs the handler once per process.</summary>
    internal static void Watch()
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0) AppDomain.CurrentDomain.UnhandledException += OnUnhandled;
    }

    private static void OnUnhandled(object sender, UnhandledExceptionEventArgs e)
    {
        if (Describe(e.ExceptionObject as Exception) is not { } line) return;
        try
        {
            Console.Error.WriteLine(line);
            Console.Error.Flush();
        }
        finally
        {
            Environment.Exit(1);
        }
    }

    /// <summary>
    /// The line to write for <paramref name="e"/>, or null when it is not a bad <c>Comet</c> setting: a
    /// <see cref="CometConfigurationException"/> (key, value, what is allowed), or the configuration binder's
    /// failure to convert a <c>Comet:</c> value to its type (<c>Comet__Timeout=60s</c>), found also inside
    /// an aggregate or as an inner exception.
    /// </summary>
    internal static string? Describe(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 8; depth++)
        {
            if (e is CometConfigurationException bad)
                return Prefix + bad.Message + $" (Comet:{bad.Key} comes from appsettings.json's \"Comet\" section, a Comet__{bad.Key} environment variable or web.config.)";
            if (e is InvalidOperationException && e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal)
                && e.Message.Contains(" at 'Comet:", StringComparison.Ordinal))
                return Prefix + e.Message;
            if (e is AggregateException { InnerExceptions.Count: > 0 } many)
                foreach (var inner in many.InnerExceptions)
                    if (Describe(inner) is { } found) return found;
            e = e.InnerException;
        }
        return null;
    }

    private const string Prefix = "fail: Comet4Net[910] The app did not start: ";
}
