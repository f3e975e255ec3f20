Attribute VB_Name = "XlLogistics"
Option Explicit
' The one ribbon callback of the xl-logistics add-in. Every button on the tab passes its tag to
' the Python handler registry (xl_addin/excel/handlers.py), which is a whitelist.
' Keep this file ASCII: the VBA project stores source in a single-byte code page, so Chinese
' messages are written as hexadecimal UTF-16 and decoded by W().

Private Const TITLE_HEX As String = "72696D4152A9624B"
' "No usable workbook: open (or enable editing of) a workbook of the desk, then click the button."
Private Const NO_BOOK_HEX As String = "72696D4152A9624BFF1A6CA1670953EF752876845DE54F5C7C3F30028BF7514862535F00FF086216542F75287F168F91FF0953F08D264E2D76845DE54F5C7C3FFF0C518D70B9630994AE3002"
' "Python could not be started (" ... "). Run xl-logistics addin install, then restart Excel."
Private Const NO_PYTHON_HEX As String = "72696D4152A9624BFF1A65E06CD5542F52A800200050007900740068006F006EFF08"
Private Const NO_PYTHON_END_HEX As String = "FF0930028BF78FD0884C00200078006C002D006C006F006700690073007400690063007300200061006400640069006E00200069006E007300740061006C006CFF0C7136540E91CD65B0542F52A800200045007800630065006C3002"

Private Sub Auto_Open()
    ' The function wizard's descriptions of the worksheet functions (as xlwings' Import Functions does).
    RegisterFunctionHelp
End Sub

Public Sub XlLogistics_OnAction(control As IRibbonControl)
    Dim tag As String
    tag = SafeTag(control.Tag)
    ' xlwings' RunPython works on the active workbook: with none (only add-ins open, or a file in
    ' Protected View) it would fail inside VBA before Python is reached.
    If ActiveWorkbook Is Nothing Then
        MsgBox W(NO_BOOK_HEX), vbExclamation, W(TITLE_HEX)
        Exit Sub
    End If
    On Error GoTo Failed
    RunPython "import xl_addin.excel.handlers as h; h.run('" & tag & "')"
    Exit Sub
Failed:
    MsgBox W(NO_PYTHON_HEX) & Err.Description & W(NO_PYTHON_END_HEX), vbCritical, W(TITLE_HEX)
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

Private Function W(ByVal hex As String) As String
    Dim i As Long, s As String
    For i = 1 To Len(hex) Step 4
        s = s & ChrW(CLng("&H" & Mid$(hex, i, 4)))
    Next i
    W = s
End Function
