namespace Comet4Net.Events;

/// <summary>Why a connection ends.</summary>
public enum DropReason
{
    /// <summary>The client asked (<c>cmd=drop</c>, a page closing).</summary>
    Client,
    /// <summary>It stayed dying longer than <c>ConnExpires</c>.</summary>
    Expired,
    /// <summary>The application dropped or kicked it.</summary>
    Server,
    /// <summary>The engine is shutting down.</summary>
    Shutdown,
    /// <summary>Its kept messages passed their limit and the overflow policy is <c>drop</c>.</summary>
    Overflow,
}
