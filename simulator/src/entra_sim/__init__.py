"""Local Microsoft Entra ID / Microsoft Graph tenant simulator."""
