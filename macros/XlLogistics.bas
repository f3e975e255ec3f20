Attribute VB_Name = "XlLogistics"
Option Explicit
' The one ribbon callback of the xl-logistics add-in. Every button on the tab passes its tag to
' the Python handler registry (xl_addin/excel/handlers.py), which is a whitelist.
' Keep this file ASCII: the VBA project stores source in a single-byte code page.

Public Sub XlLogistics_OnAction(control As IRibbonControl)
    Dim tag As String
    tag = SafeTag(control.Tag)
    On Error GoTo Failed
    RunPython "import xl_addin.excel.handlers as h; h.run('" & tag & "')"
    Exit Sub
Failed:
    MsgBox "xl-logistics: Python could not be started (" & Err.Description & ")." & vbCrLf & _
           "Run: xl-logistics addin install, then restart Excel.", vbCritical, "xl-logistics"
End Sub

Private Function SafeTag(ByVal tag As String) As String
    ' Tags are lower-case identifiers with dots; anything else reaches Python as "" (unknown button).
    Dim i As Long
    For i = 1 To Len(tag)
        If Not (Mid$(tag, i, 1) Like "[a-z0-9_.]") Then
            SafeTag = ""
            Exit Function
        End If
    Next i
    SafeTag = tag
End Function
