//! Readable names of Modbus function codes, diagnostics sub-functions and exception codes, for
//! the `operation` column, alerts and summaries.
//!
//! Names follow the Modbus Application Protocol v1.1b3. Codes without a name of their own get
//! the name of their category ("User-defined", "Reserved", "Unassigned"), so the result is
//! always a `&'static str`; callers that need the number print it next to the name.

/// The name of a function code.
///
/// Public codes get their specification name; 65..=72 and 100..=110 are "User-defined"; 90 is
/// "UMAS (Schneider)"; the codes Annex A reserves for legacy products are "Reserved"; other
/// codes in 1..=127 are "Unassigned"; 129..=255 are "Exception"; 0 and 128 are "Invalid".
pub fn function_name(function: u8) -> &'static str {
    match function {
        1 => "Read Coils",
        2 => "Read Discrete Inputs",
        3 => "Read Holding Registers",
        4 => "Read Input Registers",
        5 => "Write Single Coil",
        6 => "Write Single Register",
        7 => "Read Exception Status",
        8 => "Diagnostics",
        11 => "Get Comm Event Counter",
        12 => "Get Comm Event Log",
        15 => "Write Multiple Coils",
        16 => "Write Multiple Registers",
        17 => "Report Server ID",
        20 => "Read File Record",
        21 => "Write File Record",
        22 => "Mask Write Register",
        23 => "Read/Write Multiple Registers",
        24 => "Read FIFO Queue",
        43 => "Encapsulated Interface Transport",
        90 => "UMAS (Schneider)",
        65..=72 | 100..=110 => "User-defined",
        9 | 10 | 13 | 14 | 41 | 42 | 91 | 125..=127 => "Reserved",
        0 | 0x80 => "Invalid",
        0x81..=0xFF => "Exception",
        _ => "Unassigned",
    }
}

/// The name of a Diagnostics (FC 8) sub-function.
///
/// Sub-functions 5-9, 19 and 22..=65535 are "Reserved"; 21 keeps the name it had on Modbus
/// Plus devices, which still answer it.
pub fn diagnostic_name(sub_function: u16) -> &'static str {
    match sub_function {
        0 => "Return Query Data",
        1 => "Restart Communications Option",
        2 => "Return Diagnostic Register",
        3 => "Change ASCII Input Delimiter",
        4 => "Force Listen Only Mode",
        10 => "Clear Counters and Diagnostic Register",
        11 => "Return Bus Message Count",
        12 => "Return Bus Communication Error Count",
        13 => "Return Bus Exception Error Count",
        14 => "Return Server Message Count",
        15 => "Return Server No Response Count",
        16 => "Return Server NAK Count",
        17 => "Return Server Busy Count",
        18 => "Return Bus Character Overrun Count",
        20 => "Clear Overrun Counter and Flag",
        21 => "Get/Clear Modbus Plus Statistics",
        _ => "Reserved",
    }
}

/// The name of an exception code (the byte after an exception function code).
pub fn exception_name(code: u8) -> &'static str {
    match code {
        0x01 => "Illegal Function",
        0x02 => "Illegal Data Address",
        0x03 => "Illegal Data Value",
        0x04 => "Server Device Failure",
        0x05 => "Acknowledge",
        0x06 => "Server Device Busy",
        0x07 => "Negative Acknowledge",
        0x08 => "Memory Parity Error",
        0x0A => "Gateway Path Unavailable",
        0x0B => "Gateway Target Device Failed to Respond",
        _ => "Unknown Exception",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_by_category() {
        assert_eq!(function_name(3), "Read Holding Registers");
        assert_eq!(function_name(16), "Write Multiple Registers");
        assert_eq!(function_name(23), "Read/Write Multiple Registers");
        assert_eq!(function_name(43), "Encapsulated Interface Transport");
        assert_eq!(function_name(90), "UMAS (Schneider)");
        assert_eq!(function_name(65), "User-defined");
        assert_eq!(function_name(72), "User-defined");
        assert_eq!(function_name(100), "User-defined");
        assert_eq!(function_name(110), "User-defined");
        assert_eq!(function_name(9), "Reserved");
        assert_eq!(function_name(127), "Reserved");
        assert_eq!(function_name(18), "Unassigned");
        assert_eq!(function_name(73), "Unassigned");
        assert_eq!(function_name(0), "Invalid");
        assert_eq!(function_name(0x80), "Invalid");
        assert_eq!(function_name(0x83), "Exception");
    }

    #[test]
    fn every_public_code_has_its_own_name() {
        let public = [
            1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43,
        ];
        let generic = [
            "User-defined",
            "Reserved",
            "Unassigned",
            "Exception",
            "Invalid",
        ];

        for code in public {
            assert!(!generic.contains(&function_name(code)), "FC {code}");
        }
    }

    #[test]
    fn diagnostic_and_exception_names() {
        assert_eq!(diagnostic_name(0x0001), "Restart Communications Option");
        assert_eq!(diagnostic_name(0x0004), "Force Listen Only Mode");
        assert_eq!(diagnostic_name(0x0014), "Clear Overrun Counter and Flag");
        assert_eq!(diagnostic_name(0x0013), "Reserved");
        assert_eq!(diagnostic_name(0xFFFF), "Reserved");
        assert_eq!(exception_name(0x02), "Illegal Data Address");
        assert_eq!(
            exception_name(0x0B),
            "Gateway Target Device Failed to Respond"
        );
        assert_eq!(exception_name(0x09), "Unknown Exception");
    }
}
